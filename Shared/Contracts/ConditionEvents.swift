import Foundation

/// A failure that produces no failed run — an agent that stopped backing up, an appliance that stopped checking
/// in, offsite replication that stalled — as `vectis-backups`'s timer check judges it.
///
/// Published when the condition starts, once more each day it lasts (so a rule can count days), and when it
/// ends. Consumers key it by `(kind, subject)`: one condition per agent (or device) and kind at a time.
public struct BackupConditionChanged: BusEvent, Equatable {
    public static let topic = "backup.condition.changed"

    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// No successful backup of an agent within its window (and no failed run either: that is a failure alert).
        case backupMissed = "backup-missed"
        /// The appliance's `lastSeenDate` is older than its threshold. One per device, never one per agent.
        case deviceOffline = "device-offline"
        /// The agent's latest offsite recovery point is older than its threshold.
        case offsiteStale = "offsite-stale"
        /// The agent's latest screenshot verification failed (the machine would not boot from the backup), or, where
        /// configured, none succeeded for days.
        case screenshotFailed = "screenshot-failed"
        /// The appliance's local storage is filling up (85% used by default; `severity` high from 95%).
        case applianceStorage = "appliance-storage"
    }

    /// Why a condition ended.
    public enum EndReason: String, Codable, Sendable, CaseIterable {
        case recovered
        case paused
        case archived
        case removed
        /// Runs arrive again but fail, or the appliance is offline: another problem now tells the story.
        case superseded
        /// The check is turned off for this customer.
        case checkOff = "check-off"
    }

    public enum Change: String, Codable, Sendable {
        case started
        /// Another day passed with the condition still on (`days` went up).
        case continued
        case ended
    }

    public var kind: Kind
    public var change: Change
    public var customer: CustomerRef
    public var deviceSerial: String
    public var deviceName: String?
    /// Absent for `device-offline`.
    public var agentVolume: String?
    public var agentName: String?
    /// The last good thing: last successful backup, last check-in, latest offsite point. Absent when there never was one.
    public var lastGoodAt: Date?
    /// Where the condition's clock starts: `lastGoodAt`, or for an agent that never backed up, when Vectis first knew it.
    public var since: Date
    /// Whole days the condition has lasted, counting the day it started: 1 when raised, 2 a day later… For a
    /// nightly backup, `backup-missed` on its second day means two nights without a backup.
    public var days: Int
    /// The window that was exceeded, in hours (0 on `ended`).
    public var thresholdHours: Double
    /// What a person reads, e.g. "No successful backup for 31 h".
    public var detail: String
    /// When the check judged this.
    public var observedAt: Date
    /// For `ended`: why.
    public var endReason: EndReason?
    /// How bad, where the check can tell (appliance storage: medium, high from its second threshold); else the
    /// alert's usual severity for the kind.
    public var severity: AlertSeverity?

    public init(
        kind: Kind, change: Change, customer: CustomerRef, deviceSerial: String, deviceName: String? = nil,
        agentVolume: String? = nil, agentName: String? = nil, lastGoodAt: Date? = nil, since: Date, days: Int,
        thresholdHours: Double, detail: String, observedAt: Date, endReason: EndReason? = nil, severity: AlertSeverity? = nil
    ) {
        self.severity = severity
        self.kind = kind
        self.change = change
        self.customer = customer
        self.deviceSerial = deviceSerial
        self.deviceName = deviceName
        self.agentVolume = agentVolume
        self.agentName = agentName
        self.lastGoodAt = lastGoodAt
        self.since = since
        self.days = days
        self.thresholdHours = thresholdHours
        self.detail = detail
        self.observedAt = observedAt
        self.endReason = endReason
    }
}
