import Foundation

public enum AssetChange: String, Codable, Sendable {
    case added, updated, removed
}

/// The assets service's record of a device changed.
public struct AssetDeviceChanged: BusEvent, Equatable {
    public static let topic = "asset.device.changed"
    public var change: AssetChange
    public var serialNumber: String
    public var name: String
    public var customer: CustomerRef
    public var lastSeenAt: Date?

    public init(change: AssetChange, serialNumber: String, name: String, customer: CustomerRef, lastSeenAt: Date?) {
        self.change = change
        self.serialNumber = serialNumber
        self.name = name
        self.customer = customer
        self.lastSeenAt = lastSeenAt
    }
}

/// The assets service's record of an agent or share changed (added, updated, or gone from Datto).
public struct AssetAgentChanged: BusEvent, Equatable {
    public static let topic = "asset.agent.changed"
    public var change: AssetChange
    public var deviceSerial: String
    public var volume: String
    public var name: String
    public var customer: CustomerRef
    public var isPaused: Bool
    public var isArchived: Bool
    public var removedAt: Date?

    public init(
        change: AssetChange, deviceSerial: String, volume: String, name: String, customer: CustomerRef,
        isPaused: Bool, isArchived: Bool, removedAt: Date? = nil
    ) {
        self.change = change
        self.deviceSerial = deviceSerial
        self.volume = volume
        self.name = name
        self.customer = customer
        self.isPaused = isPaused
        self.isArchived = isArchived
        self.removedAt = removedAt
    }
}
