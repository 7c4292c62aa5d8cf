import Foundation
import GRDB
import Synchronization
import VectisContracts
import VectisStorage

/// Facts a service has already acted on, by their natural key, so the same fact arriving again under a new
/// stream epoch (a producer's database rebuilt and replayed from the start) takes effect once. Within one epoch
/// the consumer's cursors already guarantee that; this is the guard across epochs.
///
/// A fact is its kind, its key and its own time, which is part of its identity: the same fact always comes with
/// the same time (a run's time, a silent failure's start and day). The table is ordered by that time first, so
/// what a poll brings (recent runs) lands on the few pages at the table's end instead of one page per agent, and
/// rows older than `retention` are pruned now and then from the table's start: a fact that old is history
/// either way. So are rows dated more than `aheadLimit` ahead (a device whose clock is years off, a hostile time),
/// from the table's end, so the table stays bounded whatever times arrive.
public enum AppliedFacts {
    public static let retention: TimeInterval = 120 * 86_400
    /// How far ahead of now a fact's time is kept.
    public static let aheadLimit: TimeInterval = 366 * 86_400
    /// New facts between two prunes.
    static let pruneEvery = 2_000
    /// Counted rather than drawn at random: the system generator makes a `getrandom` system call per draw, once per
    /// applied event.
    private static let recorded = Atomic<Int>(0)

    /// True the first time (`kind`, `key`, `time`) is seen; false when the fact was already applied.
    public static func firstTime(_ kind: String, _ key: String, at time: Date, in db: Database) throws -> Bool {
        try firstTime(kind, key, atMilliseconds: milliseconds(time.timeIntervalSince1970), in: db)
    }

    /// A backup run: its agent and time (job ids are per backups database, so they change when it is rebuilt).
    public static func firstTime(_ job: BackupJobRecorded, tenant: String, in db: Database) throws -> Bool {
        let time = milliseconds(job.runAt.timeIntervalSince1970)
        return try firstTime(
            BackupJobRecorded.topic, "\(tenant)|\(job.deviceSerial)|\(job.agentVolume)|\(time)", atMilliseconds: time, in: db)
    }

    /// A silent failure's start, one more day, or end. Its time is its start plus its days, not when it was observed:
    /// a rebuilt producer observes the same change again at another moment.
    public static func firstTime(_ condition: BackupConditionChanged, tenant: String, in db: Database) throws -> Bool {
        let since = seconds(condition.since.timeIntervalSince1970)
        return try firstTime(
            BackupConditionChanged.topic,
            "\(tenant)|\(condition.kind.rawValue)|\(condition.change.rawValue)|\(condition.deviceSerial)|\(condition.agentVolume ?? "-")|\(since)|\(condition.days)",
            atMilliseconds: conditionTime(since: since, days: Int64(clamping: condition.days)), in: db)
    }

    static func firstTime(_ kind: String, _ key: String, atMilliseconds time: Int64, in db: Database) throws -> Bool {
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO bus_applied_fact (at_ms, kind, key) VALUES (?, ?, ?)")
        try insert.bind(time, kind, key)
        try insert.execute()
        let first = db.changesCount == 1
        if first, recorded.add(1, ordering: .relaxed).newValue % pruneEvery == 0 {
            let now = Date().timeIntervalSince1970
            try db.execute(sql: "DELETE FROM bus_applied_fact WHERE at_ms < ?", arguments: [milliseconds(now - retention)])
            try db.execute(sql: "DELETE FROM bus_applied_fact WHERE at_ms > ?", arguments: [milliseconds(now + aheadLimit)])
        }
        return first
    }

    /// A silent failure's time in milliseconds: its start (whole seconds, as its key has it) plus its days.
    static func conditionTime(since: Int64, days: Int64) -> Int64 {
        since.addingClamped(days.multipliedClamped(by: 86_400)).multipliedClamped(by: 1_000)
    }

    /// Whole milliseconds, rounded; a time outside `Int64` (none a reader accepts) is clamped rather than trapping.
    static func milliseconds(_ seconds: Double) -> Int64 { clampedInteger((seconds * 1_000).rounded()) }

    /// Whole seconds, truncated as the stored keys have them.
    static func seconds(_ seconds: Double) -> Int64 { clampedInteger(seconds.rounded(.towardZero)) }

    private static func clampedInteger(_ value: Double) -> Int64 {
        guard !value.isNaN else { return 0 }
        // 2^63 is exactly representable; anything at or past it is out of range.
        if value >= 9_223_372_036_854_775_808.0 { return .max }
        if value < -9_223_372_036_854_775_808.0 { return .min }
        return Int64(value)
    }

    /// Migration `delivery-v4-applied-facts-in-time-order`: each earlier fact's time as `firstTime` now computes it
    /// (a run's time is in its `at`; a silent failure's is its start and days, the last two parts of its key).
    static func time(ofStored kind: String, key: String, at: Double) -> Int64 {
        if kind == BackupConditionChanged.topic {
            let parts = key.split(separator: "|", omittingEmptySubsequences: false)
            if parts.count >= 2, let since = Int64(parts[parts.count - 2]), let days = Int64(parts[parts.count - 1]) {
                return conditionTime(since: since, days: days)
            }
        }
        return milliseconds(at)
    }
}

extension Int64 {
    fileprivate func addingClamped(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    fileprivate func multipliedClamped(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}
