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

/// How far a sync has come, every few seconds while it runs (and once at the end): what `vectis datto sync --wait` and
/// the console's Integrations card draw as a bar.
public struct CollectorSyncProgress: BusEvent, Equatable {
    public static let topic = "collector.sync.progress"
    public var syncId: String
    public var startedAt: Date
    public var devicesRead: Int
    public var devicesTotal: Int
    /// Datto requests spent by this sync so far.
    public var requests: Int
    /// 0–100; 100 only once the sync has finished.
    public var percent: Int
    /// Seconds until the sync should finish, from the pace so far and the key's request budget; nil before the
    /// first device is read.
    public var secondsLeft: Double?
    public var estimatedFinishAt: Date?
    public var finishedAt: Date?

    public init(
        syncId: String, startedAt: Date, devicesRead: Int, devicesTotal: Int, requests: Int, percent: Int, secondsLeft: Double? = nil,
        estimatedFinishAt: Date? = nil, finishedAt: Date? = nil
    ) {
        self.syncId = syncId
        self.startedAt = startedAt
        self.devicesRead = devicesRead
        self.devicesTotal = devicesTotal
        self.requests = requests
        self.percent = percent
        self.secondsLeft = secondsLeft
        self.estimatedFinishAt = estimatedFinishAt
        self.finishedAt = finishedAt
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

extension CollectorSyncProgress: ValidatedBusEvent {
    /// Counts and times a real sync can have: nothing negative, a percent of 0–100, a finite time left.
    public var validationProblem: String? {
        if devicesRead < 0 || devicesTotal < 0 || requests < 0 || !(0...100).contains(percent) { return "a count out of range" }
        if let secondsLeft, !secondsLeft.isFinite || secondsLeft < 0 { return "secondsLeft not a finite, non-negative number" }
        if syncId.isEmpty || syncId.utf8.count > 64 { return "syncId empty or over 64 bytes" }
        return nil
    }
}
