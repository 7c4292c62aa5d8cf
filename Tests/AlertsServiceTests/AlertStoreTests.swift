import Foundation
import GRDB
import Testing
import VectisContracts
import VectisDelivery
import VectisStorage

@testable import AlertsService

/// One alert per problem, against a real (temporary) database: raised once, seen again, resolved, muted, acted on.
@Suite("Alert store")
struct AlertStoreTests {
    static let customer = CustomerRef(key: "org:1", name: "Acme")
    static let start = Date(timeIntervalSince1970: 1_790_000_000)

    static func job(_ status: BackupJobRecorded.Status, nights: Int, at hours: Double, currentlyFailing: Bool? = nil) -> BackupJobRecorded {
        BackupJobRecorded(
            jobId: Int64(hours), deviceSerial: "S1", agentVolume: "v1", agentName: "FS01", customer: customer,
            runAt: start + hours * 3_600, status: status, rawStatus: status.rawValue,
            errorMessage: status == .failure ? "disk full" : nil, night: "n\(Int(hours / 24))", failedNightsInARow: nights,
            currentlyFailing: currentlyFailing ?? (status == .failure))
    }

    /// A fresh alerts database and its outbox; `body` gets a write transaction.
    static func withStore(_ body: (Database, Outbox) throws -> Void) throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("alerts-unit-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try DatabasePool(path: path)
        try AlertsTables.migrator.migrate(database)
        let outbox = try Outbox(stream: "alerts/unit", database: database)
        try database.write { db in try body(db, outbox) }
        return try database.read { db in try String.fetchAll(db, sql: "SELECT topic FROM bus_outbox ORDER BY id") }
            .map { String($0.prefix { $0 != "@" }) }
    }

    @Test("two failed nights are one alert with two occurrences; the success resolves it; each step is published once")
    func lifecycle() throws {
        let topics = try Self.withStore { db, outbox in
            try AlertStore.apply(Self.job(.failure, nights: 1, at: 0), tenant: "default", at: Self.start, db: db, outbox: outbox)
            try AlertStore.apply(Self.job(.failure, nights: 2, at: 24), tenant: "default", at: Self.start, db: db, outbox: outbox)
            let open = try #require(try AlertRecord.fetchOne(db, sql: AlertRecord.select))
            #expect(open.state == .open && open.occurrences == 2 && open.failedNights == 2 && open.lastError == "disk full")
            try AlertStore.apply(Self.job(.success, nights: 0, at: 48), tenant: "default", at: Self.start, db: db, outbox: outbox)
            let resolved = try #require(try AlertRecord.find(id: open.id, db))
            #expect(resolved.state == .resolved && resolved.resolvedReason == "recovered")
            // An old failure replayed after the success is history: no new alert.
            try AlertStore.apply(
                Self.job(.failure, nights: 1, at: 1, currentlyFailing: false), tenant: "default", at: Self.start, db: db, outbox: outbox)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert") == 1)
        }
        #expect(topics == [AlertRaised.topic, AlertUpdated.topic, AlertResolved.topic])
    }

    @Test("a rule's remark lands on its subject's unresolved alert only, reached through an index whether or not it names the type")
    func remarks() throws {
        _ = try Self.withStore { db, outbox in
            for volume in ["v1", "v2"] {
                var job = Self.job(.failure, nights: 2, at: 0)
                job.agentVolume = volume
                try AlertStore.apply(job, tenant: "default", at: Self.start, db: db, outbox: outbox)
            }
            func fired(_ detail: String, type: String?) -> RuleFired {
                RuleFired(
                    ruleId: "ru_1", ruleName: "r", templateId: "t", action: .notMapped,
                    subject: AlertSubject(customer: Self.customer, deviceSerial: "S1", agentVolume: "v1", agentName: "FS01"),
                    detail: detail, alertType: type)
            }
            try AlertStore.note(fired("no company mapped", type: AlertStore.backupJobFailure), tenant: "default", db: db)
            #expect(
                try String.fetchAll(db, sql: "SELECT coalesce(note, '-') FROM alert ORDER BY agent_volume") == ["no company mapped", "-"])
            try AlertStore.note(fired("older event, no type", type: nil), tenant: "default", db: db)
            #expect(
                try String.fetchAll(db, sql: "SELECT coalesce(note, '-') FROM alert ORDER BY agent_volume") == ["older event, no type", "-"]
            )
            try AlertStore.note(fired("another type's", type: "backup-missed"), tenant: "default", db: db)
            #expect(try String.fetchOne(db, sql: "SELECT note FROM alert WHERE agent_volume = 'v1'") == "older event, no type")
            // Every alert of a large tenant would be read for each remark without an index.
            for sql in [
                "UPDATE alert SET note = 'x' WHERE tenant = 'default' AND type = 't' AND agent_id = 'a' AND \(AlertRecord.unresolvedSQL)",
                "UPDATE alert SET note = 'x' WHERE tenant = 'default' AND agent_id = 'a' AND \(AlertRecord.unresolvedSQL)"
            ] {
                let details = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
                #expect(!details.isEmpty && details.allSatisfy { $0.contains("USING INDEX") }, "\(details)")
            }
        }
    }

    @Test("a muted agent's failure is recorded but raises nothing; acknowledging needs an open alert")
    func muteAndAcknowledge() throws {
        let topics = try Self.withStore { db, outbox in
            let agent = StableID.agent(tenant: "default", deviceSerial: "S1", volume: "v1")
            _ = try AlertStore.mute(
                scope: .agent, targetId: agent, until: Self.start + 86_400, reason: nil, by: "tech", now: Self.start, db: db,
                outbox: outbox)
            try AlertStore.apply(Self.job(.failure, nights: 1, at: 0), tenant: "default", at: Self.start, db: db, outbox: outbox)
            let muted = try #require(try AlertRecord.fetchOne(db, sql: AlertRecord.select))
            #expect(muted.state == .muted && !muted.raised)
            #expect(throws: AlertStore.ActionError.notOpen) {
                try AlertStore.acknowledge(id: muted.id, by: "tech", now: Self.start, db: db, outbox: outbox)
            }
            #expect(throws: AlertStore.ActionError.notFound) {
                try AlertStore.acknowledge(id: 999, by: "tech", now: Self.start, db: db, outbox: outbox)
            }
        }
        #expect(topics.isEmpty, "nothing raised for a muted agent")
    }

    @Test("a stored state this version does not know is refused, not read as open")
    func unknownState() throws {
        _ = try Self.withStore { db, outbox in
            try AlertStore.apply(Self.job(.failure, nights: 1, at: 0), tenant: "default", at: Self.start, db: db, outbox: outbox)
            // The CHECK list guards the column; a file from elsewhere may not have it.
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON")
            try db.execute(sql: "UPDATE alert SET state = 'snoozed'")
            #expect(throws: UnknownStoredValue.self) { try AlertRecord.fetchOne(db, sql: AlertRecord.select) }
            #expect(throws: UnknownStoredValue.self) { try AlertRecord.find(id: 1, db) }
        }
    }

    @Test(
        "an alert read by position (the hot path) is the alert read through GRDB's Row; a damaged value or a SELECT * throws, never traps")
    func readByPosition() throws {
        _ = try Self.withStore { db, outbox in
            try AlertStore.apply(Self.job(.failure, nights: 1, at: 0), tenant: "default", at: Self.start, db: db, outbox: outbox)
            try AlertStore.apply(Self.job(.failure, nights: 2, at: 24), tenant: "default", at: Self.start, db: db, outbox: outbox)
            try db.execute(sql: "UPDATE alert SET note = 'call the client', acknowledged_by = 'tech', acknowledged_at = 1790000100")
            let byPosition = try #require(try AlertRecord.find(id: 1, db))
            let open = try #require(
                try AlertRecord.unresolved(type: byPosition.type, tenant: "default", subjectId: byPosition.subjectId, db))
            let byRow = try #require(try AlertRecord.fetchOne(db, sql: "\(AlertRecord.select) WHERE id = 1"))
            #expect(byPosition.view == byRow.view && open.view == byRow.view)
            #expect(byRow.view.note == "call the client" && byRow.view.occurrences == 2 && byRow.view.failedNightsInARow == 2)
            #expect(byRow.view.acknowledgedAt == Date(timeIntervalSince1970: 1_790_000_100))
            // The table's own column order is not the record's: refused by name, not read shifted.
            #expect(throws: StoredColumnsMismatch.self) { try AlertRecord.fetchOne(db, sql: "SELECT * FROM alert") }
            // A number column holding text (a file edited by hand): an error the consumer can set aside, not a trap.
            try db.execute(sql: "UPDATE alert SET occurrences = 'many'")
            #expect(throws: UnreadableStoredValue.self) { try AlertRecord.find(id: 1, db) }
            #expect(throws: UnreadableStoredValue.self) {
                try AlertStore.apply(Self.job(.failure, nights: 3, at: 48), tenant: "default", at: Self.start, db: db, outbox: outbox)
            }
            // A date that is no date.
            try db.execute(sql: "UPDATE alert SET occurrences = 2, first_seen_at = 'yesterday'")
            #expect(throws: UnreadableStoredValue.self) { try AlertRecord.find(id: 1, db) }
        }
    }
}
