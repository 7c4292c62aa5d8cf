import Foundation
import VectisContracts

// The assets service's HTTP shapes (`docs/openapi/assets.json`).

/// A customer as the assets API shows it, with counts.
public struct CustomerView: Codable, Sendable {
    public var id: String
    public var tenant: String
    public var key: String
    public var name: String
    public var devices: Int
    public var agents: Int
    public var failingAgents: Int
    public var firstSeenAt: Date

    public init(id: String, tenant: String, key: String, name: String, devices: Int, agents: Int, failingAgents: Int, firstSeenAt: Date) {
        self.id = id
        self.tenant = tenant
        self.key = key
        self.name = name
        self.devices = devices
        self.agents = agents
        self.failingAgents = failingAgents
        self.firstSeenAt = firstSeenAt
    }
}

public struct AgentView: Codable, Sendable {
    public var id: String
    public var volume: String
    public var name: String
    public var kind: DattoAgentSeen.Kind
    public var os: String?
    public var ipAddress: String?
    public var agentVersion: String?
    public var isPaused: Bool
    public var isArchived: Bool
    public var lastSnapshotAt: Date?
    public var latestOffsiteAt: Date?
    public var lastScreenshotAttemptAt: Date?
    public var lastScreenshotSucceeded: Bool?
    public var lastRunAt: Date?
    public var lastRunFailed: Bool?
    /// Set when Datto stopped listing it; the agent is kept, with when it went.
    public var removedAt: Date?

    public init(
        id: String, volume: String, name: String, kind: DattoAgentSeen.Kind, os: String? = nil, ipAddress: String? = nil,
        agentVersion: String? = nil,
        isPaused: Bool, isArchived: Bool, lastSnapshotAt: Date? = nil, latestOffsiteAt: Date? = nil, lastScreenshotAttemptAt: Date? = nil,
        lastScreenshotSucceeded: Bool? = nil, lastRunAt: Date? = nil, lastRunFailed: Bool? = nil, removedAt: Date? = nil
    ) {
        self.id = id
        self.volume = volume
        self.name = name
        self.kind = kind
        self.os = os
        self.ipAddress = ipAddress
        self.agentVersion = agentVersion
        self.isPaused = isPaused
        self.isArchived = isArchived
        self.lastSnapshotAt = lastSnapshotAt
        self.latestOffsiteAt = latestOffsiteAt
        self.lastScreenshotAttemptAt = lastScreenshotAttemptAt
        self.lastScreenshotSucceeded = lastScreenshotSucceeded
        self.lastRunAt = lastRunAt
        self.lastRunFailed = lastRunFailed
        self.removedAt = removedAt
    }
}

public struct DeviceView: Codable, Sendable {
    public var serialNumber: String
    public var tenant: String
    public var customerId: String
    public var name: String
    public var model: String?
    public var lastSeenAt: Date?
    public var localStorageUsedBytes: Int64?
    public var localStorageAvailableBytes: Int64?
    public var offsiteStorageUsedBytes: Int64?
    public var remoteWebURL: String?
    public var internalIP: String?
    public var hidden: Bool
    public var agents: [AgentView]

    public init(
        serialNumber: String, tenant: String, customerId: String, name: String, model: String? = nil, lastSeenAt: Date? = nil,
        localStorageUsedBytes: Int64? = nil, localStorageAvailableBytes: Int64? = nil, offsiteStorageUsedBytes: Int64? = nil,
        remoteWebURL: String? = nil, internalIP: String? = nil, hidden: Bool, agents: [AgentView]
    ) {
        self.serialNumber = serialNumber
        self.tenant = tenant
        self.customerId = customerId
        self.name = name
        self.model = model
        self.lastSeenAt = lastSeenAt
        self.localStorageUsedBytes = localStorageUsedBytes
        self.localStorageAvailableBytes = localStorageAvailableBytes
        self.offsiteStorageUsedBytes = offsiteStorageUsedBytes
        self.remoteWebURL = remoteWebURL
        self.internalIP = internalIP
        self.hidden = hidden
        self.agents = agents
    }
}

public struct CustomerAssets: Codable, Sendable {
    public var customer: CustomerView
    public var devices: [DeviceView]

    public init(customer: CustomerView, devices: [DeviceView]) {
        self.customer = customer
        self.devices = devices
    }
}

/// `GET /v1/customers`.
public struct CustomerList: Codable, Sendable {
    public var customers: [CustomerView]

    public init(customers: [CustomerView]) {
        self.customers = customers
    }
}
