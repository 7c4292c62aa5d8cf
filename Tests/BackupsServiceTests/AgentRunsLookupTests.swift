import Foundation
import GRDB
import Testing
import VectisContracts
import VectisDelivery
import VectisTestSupport

@testable import BackupsService

/// An agent's runs are found through the natural key `(tenant, device_serial, agent_volume, run_at)`, the index every
/// run needs anyway to be recorded once; no index keyed by the hashed agent id is kept up on each recorded run.
@Suite("An agent's runs, found by the natural key")
struct AgentRunsLookupTests {
    static let calendar = NightCalendar()
    static let start = Date(timeIntervalSince1970: 1_790_000_000)
    static let customer = CustomerRef(key: "org:1", name: "Acme")

    /// Two agents on one appliance and one with the same volume on another, with runs recorded out of order (so the
    /// summaries are recomputed from the rows).
    static func withRuns(_ body: (Database) throws -> Void) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("backups-lookup-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try DatabasePool(path: path)
        try BackupsTables.migrator.migrate(database)
        let outbox = try Outbox(stream: "backups/unit", database: database)
        try database.write { db in
            // (appliance, volume, hours after start, succeeded), newest first so every run after the first is older.
            let plan: [(String, String, Double, Bool)] = [
                ("S1", "v1", 72, false), ("S1", "v2", 72, true), ("S2", "v1", 72, true),
                ("S1", "v1", 48, false), ("S1", "v2", 48, false), ("S2", "v1", 48, false),
                ("S1", "v1", 24, true), ("S1", "v2", 24, false), ("S2", "v1", 24, false)
            ]
            for (serial, volume, hours, succeeded) in plan {
                let run = BackupRunObserved(
                    deviceSerial: serial, agentVolume: volume, agentName: "\(serial)-\(volume)", customer: customer,
                    runAt: start + hours * 3_600, rawStatus: succeeded ? "success" : "failure",
                    errorMessage: succeeded ? nil : "failed \(serial)/\(volume) at \(Int(hours))")
                try BackupJobStore.record(run, tenant: "default", calendar: calendar, at: start, db: db, outbox: outbox, correlationId: nil)
            }
            try body(db)
        }
    }

    static func summary(_ serial: String, _ volume: String, _ db: Database) throws -> AgentRunSummary? {
        let agentId = StableID.agent(tenant: "default", deviceSerial: serial, volume: volume)
        return try AgentRunSummary.Stored.fetchOne(db, sql: AgentRunSummary.Stored.sql, arguments: [agentId])?.summary
    }

    @Test("each agent's summary and history are its own, not its neighbour's on the appliance or its namesake elsewhere")
    func ownRunsOnly() throws {
        try Self.withRuns { db in
            let first = try #require(try Self.summary("S1", "v1", db))
            #expect(first.failedNights == 2 && first.currentlyFailing && first.lastFailureMessage == "failed S1/v1 at 72")
            #expect(first.lastSuccessAt == Self.start + 24 * 3_600)
            let second = try #require(try Self.summary("S1", "v2", db))
            #expect(second.failedNights == 0 && !second.currentlyFailing && second.lastFailureMessage == "failed S1/v2 at 48")
            let elsewhere = try #require(try Self.summary("S2", "v1", db))
            #expect(elsewhere.failedNights == 0 && elsewhere.lastSuccessAt == Self.start + 72 * 3_600)

            let key = AgentKey(tenant: "default", deviceSerial: "S1", volume: "v1")
            let history = try BackupJobRecord.history(of: key, before: nil, limit: 10, db)
            #expect(history.map(\.runAt) == [72.0, 48, 24].map { Self.start + $0 * 3_600 })
            #expect(Set(history.map(\.agentVolume)) == ["v1"] && Set(history.map(\.deviceSerial)) == ["S1"])
            let older = try BackupJobRecord.history(of: key, before: Self.start + 72 * 3_600, limit: 1, db)
            #expect(older.map(\.runAt) == [Self.start + 48 * 3_600])
            let night = Self.calendar.night(of: Self.start + 48 * 3_600)
            let oneNight = try BackupJobRecord.history(of: key, before: nil, night: night, limit: 10, db)
            #expect(oneNight.map(\.night) == [night] && oneNight.first?.status == .failure)
        }
    }

    @Test("a customer's recent runs are its agents' newest merged: newest first, ties by the later recorded, only its agents")
    func recentAcrossAgents() throws {
        try Self.withRuns { db in
            let keys = [("S1", "v1"), ("S1", "v2"), ("S2", "v1")].map { AgentKey(tenant: "default", deviceSerial: $0, volume: $1) }
            let newest = try BackupJobRecord.recent(of: keys, limit: 4, db)
            #expect(
                newest.map { "\($0.deviceSerial)/\($0.agentVolume)@\(Int($0.runAt.timeIntervalSince(Self.start) / 3_600))" } == [
                    "S2/v1@72", "S1/v2@72", "S1/v1@72", "S2/v1@48"
                ])
            let oneAppliance = try BackupJobRecord.recent(of: Array(keys.prefix(2)), limit: 10, db)
            #expect(oneAppliance.count == 6 && oneAppliance.allSatisfy { $0.deviceSerial == "S1" })
            #expect(oneAppliance.map(\.runAt) == oneAppliance.map(\.runAt).sorted(by: >))
            #expect(try BackupJobRecord.recent(of: [], limit: 10, db).isEmpty)
        }
    }

    @Test("every lookup of an agent's runs uses the natural key's index; the hashed-id and customer indexes are gone")
    func queryPlans() throws {
        try Self.withRuns { db in
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'backup_jobs'")
            #expect(indexes.allSatisfy { $0.hasPrefix("sqlite_autoindex_backup_jobs") }, "\(indexes)")
            let agent = "tenant = 'default' AND device_serial = 'S1' AND agent_volume = 'v1'"
            for sql in [
                "SELECT * FROM backup_jobs WHERE \(agent) AND run_at < 1e300 ORDER BY run_at DESC LIMIT 10",
                "SELECT * FROM backup_jobs WHERE \(agent) AND run_at < 1e300 AND night = '2026-09-22' ORDER BY run_at DESC LIMIT 10",
                "SELECT run_at, status, night FROM backup_jobs WHERE \(agent) ORDER BY run_at DESC LIMIT 1",
                "SELECT MAX(status = 'success') FROM backup_jobs WHERE \(agent) GROUP BY night ORDER BY night DESC LIMIT 400",
                """
                SELECT (SELECT COUNT(*) FROM backup_jobs j WHERE j.tenant = a.tenant AND j.device_serial = a.device_serial
                    AND j.agent_volume = a.volume AND j.run_at >= 0) FROM agent a
                """
            ] {
                let details = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
                let onRuns = details.filter { $0.contains("backup_jobs") || $0.contains(" j ") || $0.hasSuffix(" j") }
                #expect(!onRuns.isEmpty && onRuns.allSatisfy { $0.contains("INDEX sqlite_autoindex_backup_jobs") }, "\(sql): \(details)")
            }
        }
    }
}
