import Foundation
import VectisContracts

// The backups service's HTTP shapes (`docs/openapi/backups.json`): the customer hub's Backups section.

/// One run as the hub shows it.
public struct RunView: Codable, Sendable, Equatable {
    public var id: Int64
    public var agentId: String
    public var agentName: String
    public var deviceSerial: String
    public var runAt: Date
    public var night: String
    public var status: BackupJobRecorded.Status
    public var rawStatus: String
    public var errorMessage: String?
    public var sizeBytes: Int64?
    public var localVerificationStatus: String?
    public var localVerificationErrors: [BackupVerification.Problem]?
    public var screenshotStatus: String?
    public var firstSeenAt: Date
    /// What backed up: a BCDR agent or share, a SaaS Protection application, an Endpoint Backup agent.
    public var kind: DattoAgentSeen.Kind

    public init(
        id: Int64, agentId: String, agentName: String, deviceSerial: String, runAt: Date, night: String, status: BackupJobRecorded.Status,
        rawStatus: String, errorMessage: String? = nil, sizeBytes: Int64? = nil, localVerificationStatus: String? = nil,
        localVerificationErrors: [BackupVerification.Problem]? = nil, screenshotStatus: String? = nil, firstSeenAt: Date,
        kind: DattoAgentSeen.Kind = .agent
    ) {
        self.id = id
        self.agentId = agentId
        self.agentName = agentName
        self.deviceSerial = deviceSerial
        self.runAt = runAt
        self.night = night
        self.status = status
        self.rawStatus = rawStatus
        self.errorMessage = errorMessage
        self.sizeBytes = sizeBytes
        self.localVerificationStatus = localVerificationStatus
        self.localVerificationErrors = localVerificationErrors
        self.screenshotStatus = screenshotStatus
        self.firstSeenAt = firstSeenAt
        self.kind = kind
    }
}

/// One agent's card in the customer hub's Backups section.
public struct AgentCard: Codable, Sendable, Equatable {
    public struct Failure: Codable, Sendable, Equatable {
        public var at: Date
        public var message: String?

        public init(at: Date, message: String? = nil) {
            self.at = at
            self.message = message
        }
    }

    public var agentId: String
    public var name: String
    public var kind: DattoAgentSeen.Kind
    public var deviceSerial: String
    public var volume: String
    public var isPaused: Bool
    public var isArchived: Bool
    /// Where the agent stands: the first that applies.
    public enum State: String, Codable, Sendable, CaseIterable {
        case failing
        case missed
        case deviceOffline = "device-offline"
        case offsiteStale = "offsite-stale"
        case screenshotFailed = "screenshot-failed"
        case noBackupsYet = "no-backups-yet"
        case ok
    }

    public var state: State
    /// What the card says: "Currently failing — 2 failed nights in a row", "No successful backup for 31 h",
    /// "Appliance offline: last check-in 3 h ago", "Latest offsite copy is 52 h old", "No backups yet", "OK".
    public var headline: String
    public var lastRunAt: Date?
    public var lastSuccessAt: Date?
    public var lastFailure: Failure?
    public var currentlyFailing: Bool
    public var failedNightsInARow: Int
    public var runsLast24h: Int
    /// Silent failures in force for this agent (its appliance's `device-offline` included).
    public var conditions: [ConditionView]
    /// The latest screenshot verification (whether the backup boots), once Datto reported one.
    public var screenshot: Screenshot?

    public struct Screenshot: Codable, Sendable, Equatable {
        public var lastAttemptAt: Date
        public var succeeded: Bool
        public var lastSuccessAt: Date?

        public init(lastAttemptAt: Date, succeeded: Bool, lastSuccessAt: Date? = nil) {
            self.lastAttemptAt = lastAttemptAt
            self.succeeded = succeeded
            self.lastSuccessAt = lastSuccessAt
        }
    }

    public init(
        agentId: String, name: String, kind: DattoAgentSeen.Kind, deviceSerial: String, volume: String, isPaused: Bool, isArchived: Bool,
        state: State,
        headline: String, lastRunAt: Date? = nil, lastSuccessAt: Date? = nil, lastFailure: Failure? = nil, currentlyFailing: Bool,
        failedNightsInARow: Int, runsLast24h: Int, conditions: [ConditionView], screenshot: Screenshot? = nil
    ) {
        self.screenshot = screenshot
        self.agentId = agentId
        self.name = name
        self.kind = kind
        self.deviceSerial = deviceSerial
        self.volume = volume
        self.isPaused = isPaused
        self.isArchived = isArchived
        self.state = state
        self.headline = headline
        self.lastRunAt = lastRunAt
        self.lastSuccessAt = lastSuccessAt
        self.lastFailure = lastFailure
        self.currentlyFailing = currentlyFailing
        self.failedNightsInARow = failedNightsInARow
        self.runsLast24h = runsLast24h
        self.conditions = conditions
    }
}

/// A silent failure as the hub shows it, worded at the time of asking.
public struct ConditionView: Codable, Sendable, Equatable {
    public var type: BackupConditionChanged.Kind
    public var since: Date
    public var days: Int
    public var headline: String

    public init(type: BackupConditionChanged.Kind, since: Date, days: Int, headline: String) {
        self.type = type
        self.since = since
        self.days = days
        self.headline = headline
    }
}

public struct CustomerBackups: Codable, Sendable {
    public struct Customer: Codable, Sendable {
        public var id: String
        public var tenant: String
        public var key: String
        public var name: String

        public init(id: String, tenant: String, key: String, name: String) {
            self.id = id
            self.tenant = tenant
            self.key = key
            self.name = name
        }
    }

    /// An appliance of the customer's, as last announced (listed even before any agent is known).
    public struct Appliance: Codable, Sendable {
        public var serial: String
        public var name: String
        public var lastSeenAt: Date?
        public var storage: Storage?

        public init(serial: String, name: String, lastSeenAt: Date? = nil, storage: Storage? = nil) {
            self.serial = serial
            self.name = name
            self.lastSeenAt = lastSeenAt
            self.storage = storage
        }
    }

    /// An appliance's local storage as Datto last reported it, and when it will be full at the rate of the last 30
    /// days (least squares over samples; absent while it does not grow).
    public struct Storage: Codable, Sendable, Equatable {
        public var usedBytes: Int64
        public var availableBytes: Int64
        /// One decimal.
        public var percentUsed: Double
        public var projectedFullAt: Date?
        /// "full in about 9 days", "full within a day", "not filling up".
        public var projection: String
        /// The last 30 days of samples (at most one per six hours), oldest first: the console's usage line.
        public var history: [Sample]

        public struct Sample: Codable, Sendable, Equatable {
            public var at: Date
            public var usedBytes: Int64
            public var availableBytes: Int64

            public init(at: Date, usedBytes: Int64, availableBytes: Int64) {
                (self.at, self.usedBytes, self.availableBytes) = (at, usedBytes, availableBytes)
            }
        }

        public init(
            usedBytes: Int64, availableBytes: Int64, percentUsed: Double, projectedFullAt: Date?, projection: String, history: [Sample] = []
        ) {
            self.history = history
            self.usedBytes = usedBytes
            self.availableBytes = availableBytes
            self.percentUsed = percentUsed
            self.projectedFullAt = projectedFullAt
            self.projection = projection
        }
    }

    public var customer: Customer
    /// The customer's appliances; a customer can have some before its first protected agent is read.
    public var appliances: [Appliance]?
    public var agents: [AgentCard]
    /// The 10 most recent runs across the customer's agents, newest first.
    public var recentRuns: [RunView]

    public init(customer: Customer, appliances: [Appliance]? = nil, agents: [AgentCard], recentRuns: [RunView]) {
        self.customer = customer
        self.appliances = appliances
        self.agents = agents
        self.recentRuns = recentRuns
    }
}

public struct AgentRuns: Codable, Sendable {
    public var agent: AgentCard
    public var runs: [RunView]
    /// Pass as `before` for the next page; absent on the last page.
    public var nextBefore: Date?

    public init(agent: AgentCard, runs: [RunView], nextBefore: Date? = nil) {
        self.agent = agent
        self.runs = runs
        self.nextBefore = nextBefore
    }
}
