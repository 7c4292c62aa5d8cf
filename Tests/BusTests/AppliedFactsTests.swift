import Foundation
import GRDB
import Testing
import VectisDelivery

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

    @Test("a fact takes effect once; facts older than the retention are pruned as new ones arrive, recent ones kept")
    func onceAndPruned() throws {
        let database = try Self.database()
        let now = Date()
        try database.write { db in
            #expect(try AppliedFacts.firstTime("run", "old", at: now - AppliedFacts.retention - 86_400, in: db))
            #expect(try AppliedFacts.firstTime("run", "recent", at: now - 86_400, in: db))
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
            #expect(try held("recent"))
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bus_applied_fact") == added + 1)
        }
    }
}
