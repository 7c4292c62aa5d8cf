import Foundation

/// A backup run stored in `backup_jobs` for the first time, with the agent's streak of failed nights.
public struct BackupJobRecorded: BusEvent, Equatable {
    public static let topic = "backup.job.recorded"

    public enum Status: String, Codable, Sendable, CaseIterable { case success, failure }

    public var jobId: Int64
    public var deviceSerial: String
    public var agentVolume: String
    public var agentName: String
    public var customer: CustomerRef
    public var runAt: Date
    public var status: Status
    public var rawStatus: String
    public var errorMessage: String?
    public var sizeBytes: Int64?
    /// The night (in the tenant's time zone, noon to noon by default) the run belongs to, `YYYY-MM-DD`.
    public var night: String
    /// Consecutive latest nights with runs and no success; 0 once a night succeeds.
    public var failedNightsInARow: Int
    /// The agent's summary after this run was recorded.
    public var lastSuccessAt: Date?
    public var lastFailureAt: Date?
    public var lastFailureMessage: String?
    public var currentlyFailing: Bool?
    public var lastRunAt: Date?

    public init(
        jobId: Int64, deviceSerial: String, agentVolume: String, agentName: String, customer: CustomerRef,
        runAt: Date, status: Status, rawStatus: String, errorMessage: String? = nil, sizeBytes: Int64? = nil,
        night: String, failedNightsInARow: Int, lastSuccessAt: Date? = nil, lastFailureAt: Date? = nil,
        lastFailureMessage: String? = nil, currentlyFailing: Bool? = nil, lastRunAt: Date? = nil
    ) {
        self.lastSuccessAt = lastSuccessAt
        self.lastFailureAt = lastFailureAt
        self.lastFailureMessage = lastFailureMessage
        self.currentlyFailing = currentlyFailing
        self.lastRunAt = lastRunAt
        self.jobId = jobId
        self.deviceSerial = deviceSerial
        self.agentVolume = agentVolume
        self.agentName = agentName
        self.customer = customer
        self.runAt = runAt
        self.status = status
        self.rawStatus = rawStatus
        self.errorMessage = errorMessage
        self.sizeBytes = sizeBytes
        self.night = night
        self.failedNightsInARow = failedNightsInARow
    }
}

/// Ask for a failed agent's backup to be retried (Datto's API cannot start one; see the retry docs).
public struct BackupRetryRequested: BusEvent, Equatable {
    public static let topic = "backup.retry.requested"
    public var retryId: String
    public var deviceSerial: String
    public var agentVolume: String
    public var reason: String
    public var requestedBy: String

    public init(retryId: String, deviceSerial: String, agentVolume: String, reason: String, requestedBy: String) {
        self.retryId = retryId
        self.deviceSerial = deviceSerial
        self.agentVolume = agentVolume
        self.reason = reason
        self.requestedBy = requestedBy
    }
}

/// What a retry actually did; it never claims a backup started when none could be.
public struct BackupRetryCompleted: BusEvent, Equatable {
    public static let topic = "backup.retry.completed"

    public enum Outcome: String, Codable, Sendable {
        /// The MSP's retry hook accepted the request.
        case hookCalled = "hook-called"
        case hookFailed = "hook-failed"
        /// No hook configured: only a re-poll happened; a human must start the backup.
        case noHook = "no-hook"
    }

    public var retryId: String
    public var deviceSerial: String
    public var agentVolume: String
    public var outcome: Outcome
    public var detail: String
    public var repolled: Bool
    public var remoteWebURL: String?

    public init(
        retryId: String, deviceSerial: String, agentVolume: String, outcome: Outcome, detail: String,
        repolled: Bool, remoteWebURL: String? = nil
    ) {
        self.retryId = retryId
        self.deviceSerial = deviceSerial
        self.agentVolume = agentVolume
        self.outcome = outcome
        self.detail = detail
        self.repolled = repolled
        self.remoteWebURL = remoteWebURL
    }
}
