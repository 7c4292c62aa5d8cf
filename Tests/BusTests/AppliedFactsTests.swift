import Foundation
import GRDB
import Testing
import VectisContracts
import VectisDelivery
import VectisTestSupport

/// The guard that makes a fact take effect once across a producer's epochs, and its bound.
@Suite("Applied facts")
struct AppliedFactsTests {
    static func database() throws -> DatabaseQueue {
        let database = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        try migrator.migrate(database)
        return database
    }

    @Test("a fact takes effect once; facts older than the retention or dated years ahead are pruned as new ones arrive, recent ones kept")
    func onceAndPruned() throws {
        let database = try Self.database()
        let now = Date()
        try database.write { db throws in
            #expect(try AppliedFacts.firstTime("run", "old", at: now - AppliedFacts.retention - 86_400, in: db))
            #expect(try AppliedFacts.firstTime("run", "recent", at: now - 86_400, in: db))
            #expect(try AppliedFacts.firstTime("run", "years ahead", at: now + AppliedFacts.aheadLimit + 86_400, in: db))
            #expect(try AppliedFacts.firstTime("run", "tomorrow", at: now + 86_400, in: db))
            #expect(try !AppliedFacts.firstTime("run", "recent", at: now - 86_400, in: db), "a repeat is refused")
            func held(_ key: String) throws -> Bool {
                try Bool.fetchOne(db, sql: "SELECT 1 FROM bus_applied_fact WHERE key = ?", arguments: [key]) ?? false
            }
            // Pruning comes every `pruneEvery` new facts counted across the process: within three rounds here even
            // when other tests' facts take some of the turns.
            var added = 0
            while try held("old") && added < 3 * 2_000 {
                #expect(try AppliedFacts.firstTime("run", "new-\(added)", at: now, in: db))
                added += 1
            }
            #expect(try !held("old"), "the fact past the retention is still held after \(added) new facts")
            #expect(try !held("years ahead"), "a fact dated past the limit ahead is pruned with it")
            #expect(try held("recent") && held("tomorrow"))
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bus_applied_fact") == added + 2)
        }
    }
    static func silence(_ change: BackupConditionChanged.Change, days: Int, observedAt: Date) -> BackupConditionChanged {
        BackupConditionChanged(
            kind: .backupMissed, change: change, customer: CustomerRef(key: "org:1", name: "Acme"), deviceSerial: "S1",
            agentVolume: "v1", since: Date(timeIntervalSince1970: 1_790_000_000.75), days: days, thresholdHours: 26,
            detail: "No successful backup for \(days) days", observedAt: observedAt)
    }

    @Test("a run and a silent failure's day are each one fact, however often and whenever they are observed again")
    func factsByIdentity() throws {
        let database = try Self.database()
        let job = BackupJobRecorded.sample(7)
        try database.write { db throws in
            #expect(try AppliedFacts.firstTime(job, tenant: "default", in: db))
            #expect(try !AppliedFacts.firstTime(job, tenant: "default", in: db))
            #expect(try AppliedFacts.firstTime(job, tenant: "other", in: db), "another tenant's run is another fact")
            var later = job
            later.runAt += 3_600
            #expect(try AppliedFacts.firstTime(later, tenant: "default", in: db), "the agent's next run is another fact")

            let now = Date()
            #expect(try AppliedFacts.firstTime(Self.silence(.continued, days: 3, observedAt: now), tenant: "default", in: db))
            #expect(
                try !AppliedFacts.firstTime(Self.silence(.continued, days: 3, observedAt: now + 7_200), tenant: "default", in: db),
                "a rebuilt producer observes the same day again at another moment: still the same fact")
            #expect(try AppliedFacts.firstTime(Self.silence(.continued, days: 4, observedAt: now), tenant: "default", in: db))
        }
    }

    @Test("hostile times and day counts are facts like any other, not a trap")
    func hostileValues() throws {
        let database = try Self.database()
        try database.write { db throws in
            for days in [Int.max, Int.min, 0] {
                #expect(try AppliedFacts.firstTime(Self.silence(.continued, days: days, observedAt: Date()), tenant: "t", in: db))
                #expect(try !AppliedFacts.firstTime(Self.silence(.continued, days: days, observedAt: Date()), tenant: "t", in: db))
            }
            for time in [Date.distantFuture, Date.distantPast, Date(timeIntervalSince1970: .greatestFiniteMagnitude)] {
                #expect(try AppliedFacts.firstTime("run", "far", at: time, in: db))
            }
        }
    }

    @Test("facts recorded before they were ordered by time still guard after the upgrade; a damaged one does not stop it")
    func upgradeKeepsFacts() throws {
        let database = try DatabaseQueue()
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        try migrator.migrate(database, upTo: "delivery-v3-applied-facts")
        let job = BackupJobRecorded.sample(9)
        let observed = Date(timeIntervalSince1970: 1_790_500_000)
        let silence = Self.silence(.started, days: 1, observedAt: observed)
        // Rows as the earlier version wrote them: the run's key and time, the silence's key and when it was observed.
        try database.write { db throws in
            try db.execute(
                sql: "INSERT INTO bus_applied_fact (kind, key, at) VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
                arguments: [
                    "backup.job.recorded",
                    "default|\(job.deviceSerial)|\(job.agentVolume)|\(Int64((job.runAt.timeIntervalSince1970 * 1_000).rounded()))",
                    job.runAt.timeIntervalSince1970,
                    "backup.condition.changed", "default|backup-missed|started|S1|v1|1790000000|1", observed.timeIntervalSince1970,
                    "backup.job.recorded", "damaged", "not a time"
                ])
        }
        try migrator.migrate(database)
        try database.write { db throws in
            #expect(try !AppliedFacts.firstTime(job, tenant: "default", in: db), "the run recorded before the upgrade")
            #expect(
                try !AppliedFacts.firstTime(Self.silence(.started, days: 1, observedAt: observed + 600), tenant: "default", in: db),
                "the silence recorded before the upgrade, observed again later")
            #expect(try AppliedFacts.firstTime(BackupJobRecorded.sample(10), tenant: "default", in: db))
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bus_applied_fact") == 3, "the damaged row left behind")
            #expect(
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE tbl_name = 'bus_applied_fact' AND type = 'index'")
                    .allSatisfy { $0.hasPrefix("sqlite_autoindex") },
                "no index beside the table's own key")
            for bound in ["at_ms < 5", "at_ms > 5"] {
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN DELETE FROM bus_applied_fact WHERE \(bound)").map {
                    $0["detail"] as String
                }
                #expect(plan.contains { $0.contains("USING PRIMARY KEY") }, "pruning reads from the table's ends: \(plan)")
            }
        }
    }
}
