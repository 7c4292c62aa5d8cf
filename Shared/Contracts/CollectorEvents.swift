import Foundation

/// Why a sync ran.
public enum SyncTrigger: String, Codable, Sendable {
    case scheduled, manual, initial, retry
}

public struct CollectorSyncStarted: BusEvent, Equatable {
    public static let topic = "collector.sync.started"
    public var syncId: String
    public var trigger: SyncTrigger
    public var region: String
    public var startedAt: Date

    public init(syncId: String, trigger: SyncTrigger, region: String, startedAt: Date) {
        self.syncId = syncId
        self.trigger = trigger
        self.region = region
        self.startedAt = startedAt
    }
}

public struct CollectorSyncCompleted: BusEvent, Equatable {
    public static let topic = "collector.sync.completed"
    public var syncId: String
    public var devices: Int
    public var agents: Int
    public var runsObserved: Int
    public var requests: Int
    public var durationSeconds: Double

    public init(syncId: String, devices: Int, agents: Int, runsObserved: Int, requests: Int, durationSeconds: Double) {
        self.syncId = syncId
        self.devices = devices
        self.agents = agents
        self.runsObserved = runsObserved
        self.requests = requests
        self.durationSeconds = durationSeconds
    }
}

public struct CollectorSyncFailed: BusEvent, Equatable {
    public static let topic = "collector.sync.failed"
    public var syncId: String
    /// A short machine-readable kind: `unauthorized`, `forbidden`, `wrong-region`, `rate-limited`, `timeout`, …
    public var errorKind: String
    /// The message a user reads (the integration guide's words for 401/403/404).
    public var message: String
    public var endpoint: String?

    public init(syncId: String, errorKind: String, message: String, endpoint: String? = nil) {
        self.syncId = syncId
        self.errorKind = errorKind
        self.message = message
        self.endpoint = endpoint
    }
}
