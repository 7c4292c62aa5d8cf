import Foundation
import GRDB
import Synchronization
import VectisContracts
import VectisStorage

/// Facts a service has already acted on, by their natural key, so the same fact arriving again under a new
/// stream epoch (a producer's database rebuilt and replayed from the start) takes effect once. Within one epoch
/// the consumer's cursors already guarantee that; this is the guard across epochs.
///
/// Rows older than `retention` (by the fact's own time) are pruned now and then: a fact that old is history
/// either way, and the table stays bounded.
public enum AppliedFacts {
    public static let retention: TimeInterval = 120 * 86_400
    /// New facts between two prunes.
    static let pruneEvery = 2_000
    /// Counted rather than drawn at random: the system generator makes a `getrandom` system call per draw, once per
    /// applied event.
    private static let recorded = Atomic<Int>(0)

    /// True the first time `key` is seen for `kind`; false when the fact was already applied.
    public static func firstTime(_ kind: String, _ key: String, at time: Date, in db: Database) throws -> Bool {
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO bus_applied_fact (kind, key, at) VALUES (?, ?, ?)")
        try insert.bind(kind, key, time.timeIntervalSince1970)
        try insert.execute()
        let first = db.changesCount == 1
        if first, recorded.add(1, ordering: .relaxed).newValue % pruneEvery == 0 {
            try db.execute(
                sql: "DELETE FROM bus_applied_fact WHERE at < ?", arguments: [Date().timeIntervalSince1970 - retention])
        }
        return first
    }

    /// A backup run: its agent and time (job ids are per backups database, so they change when it is rebuilt).
    public static func firstTime(_ job: BackupJobRecorded, tenant: String, in db: Database) throws -> Bool {
        try firstTime(
            "backup.job.recorded",
            "\(tenant)|\(job.deviceSerial)|\(job.agentVolume)|\(Int64((job.runAt.timeIntervalSince1970 * 1_000).rounded()))",
            at: job.runAt, in: db)
    }

    /// A silent failure's start, one more day, or end.
    public static func firstTime(_ condition: BackupConditionChanged, tenant: String, in db: Database) throws -> Bool {
        try firstTime(
            "backup.condition.changed",
            "\(tenant)|\(condition.kind.rawValue)|\(condition.change.rawValue)|\(condition.deviceSerial)|\(condition.agentVolume ?? "-")|\(Int64(condition.since.timeIntervalSince1970))|\(condition.days)",
            at: condition.observedAt, in: db)
    }
}
