import Foundation
import GRDB
import Testing
import VectisAPI
import VectisContracts
import VectisStorage

@testable import RulesService

/// The rules a consumer batch acts on are read once per transaction; an edit made between batches — through the
/// service, or to the file by another connection — is what the next batch acts on.
@Suite("Enabled rules, read once per transaction")
struct EnabledRulesTests {
    static func database() throws -> (DatabasePool, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rules-unit-\(UUID().uuidString).sqlite").path
        return (try ServiceDatabase.open(at: path, migrator: RulesTables.migrator), path)
    }

    static func insert(_ name: String, _ db: Database) throws -> Int64 {
        let template = try #require(RuleTemplate.all.first { $0.trigger == .failedNights && $0.psa == PSAKind.connectwise })
        return try RuleRecord.insert(
            tenant: "default", template: template, name: name, settings: PSASettings(), secretsSealed: Data(), thresholdNights: 2,
            closeOnRecovery: true, action: .ticket, maxRetries: 0, dryRunUntil: .distantPast, whenClosedByPerson: .reopen,
            reopenWindowDays: 7, notifyChannels: [], notifyRepeat: false, now: Date(), db)
    }

    @Test("a batch sees its rules as they were when it began; the next one sees every edit, whoever made it")
    func editsReachTheNextBatch() async throws {
        let (pool, path) = try Self.database()
        let rules = EnabledRules(pool)
        let first = try await pool.write { db in try Self.insert("first", db) }
        func names() async throws -> [String] {
            try await pool.write { db in try rules.rules(tenant: "default", trigger: .failedNights, db).map(\.name).sorted() }
        }
        #expect(try await names() == ["first"])

        // Within one transaction the list is read once: a rule added later in it is not among them yet…
        let inOneBatch = try await pool.write { db -> ([String], [String]) in
            let before = try rules.rules(tenant: "default", trigger: .failedNights, db).map(\.name)
            _ = try Self.insert("second", db)
            return (before, try rules.rules(tenant: "default", trigger: .failedNights, db).map(\.name))
        }
        #expect(inOneBatch.0 == ["first"] && inOneBatch.1 == ["first"])
        // …and the next transaction has it.
        #expect(try await names() == ["first", "second"])

        // Switched off through the service's own code.
        try await pool.write { db in try RuleRecord.setEnabled(false, id: first, db) }
        #expect(try await names() == ["second"])

        // Changed in the file by another connection.
        try await DatabaseQueue(path: path).write { db in try db.execute(sql: "UPDATE rule SET name = 'renamed' WHERE name = 'second'") }
        #expect(try await names() == ["renamed"])

        // A rolled-back transaction leaves nothing cached behind it.
        _ = try? await pool.write { db -> Void in
            _ = try rules.rules(tenant: "default", trigger: .failedNights, db)
            try db.execute(sql: "UPDATE rule SET name = 'gone'")
            throw CancellationError()
        }
        #expect(try await names() == ["renamed"])
        #expect(try await pool.write { db in try rules.rules(tenant: "msp-b", trigger: .failedNights, db) }.isEmpty)
    }
}
