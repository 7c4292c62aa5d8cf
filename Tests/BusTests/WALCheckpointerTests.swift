import Foundation
import GRDB
import Logging
import Testing
import VectisStorage

@testable import VectisRuntime

/// The write-ahead log is copied back into the database file beside the writer, and stays bounded on disk.
@Suite("Background checkpoints")
struct WALCheckpointerTests {
    static func withDatabase(_ body: (DatabasePool, String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-wal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("service.sqlite").path
        var migrator = DatabaseMigrator()
        migrator.registerMigration("blobs") { db in
            try db.execute(sql: "CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        }
        let database = try ServiceDatabase.open(at: path, migrator: migrator)
        try await body(database, path)
    }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Writes `transactions` transactions of `rows` rows of `bytes` bytes each.
    static func write(_ database: DatabasePool, transactions: Int, rows: Int, bytes: Int, after each: () -> Void = {}) throws {
        let data = Data(repeating: 0x5A, count: bytes)
        for _ in 0..<transactions {
            try database.write { db in
                for _ in 0..<rows { try db.execute(sql: "INSERT INTO blob (data) VALUES (?)", arguments: [data]) }
            }
            each()
        }
    }

    @Test("past SQLite's 1,000-page default the writer no longer stops to checkpoint; the checkpointer copies every committed page")
    func writerLeavesCheckpoints() async throws {
        try await Self.withDatabase { database, path in
            try await database.writeWithoutTransaction { db in try WALCheckpointer.leaveCheckpointsToCheckpointer(db) }
            let before = Self.size(path)
            // 8 MiB: twice the default threshold, under the backstop.
            try Self.write(database, transactions: 8, rows: 16, bytes: 64 << 10)
            #expect(Self.size(path) - before < 1 << 20, "the writer checkpointed by itself")
            #expect(Self.size(path + "-wal") >= 8 << 20)
            let connection = try WALCheckpointer.connection(to: path)
            let result = try await WALCheckpointer.checkpoint(connection)
            #expect(result.logPages >= 2_048)
            #expect(result.checkpointedPages == result.logPages, "every committed page is in the file")
            #expect(Self.size(path) - before >= 8 << 20)
            #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob") } == 128)
        }
    }

    @Test(
        "under a writer that pauses only between transactions, the log file stays under the size it is cut back to, and nothing written is lost"
    )
    func logStaysBounded() async throws {
        try await Self.withDatabase { database, path in
            let checkpointer = WALCheckpointer(
                database: database, interval: .milliseconds(20), logger: Logger(label: "test"))
            let running = Task { try await checkpointer.run() }
            // Let it set the writer's threshold first.
            try await Task.sleep(for: .milliseconds(100))
            var largest = 0
            // 128 MiB in 1 MiB transactions, a millisecond apart (a consumer between two batches): twice the size limit.
            try Self.write(database, transactions: 128, rows: 16, bytes: 64 << 10) {
                largest = max(largest, Self.size(path + "-wal"))
                Thread.sleep(forTimeInterval: 0.001)
            }
            running.cancel()
            _ = await running.result
            #expect(largest > 0)
            // Without restarts the log would hold all 128 MiB (and be cut back only when it next restarts).
            #expect(largest <= WALCheckpointer.logSizeLimitBytes, "log grew to \(largest) bytes")
            #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob") } == 128 * 16)
        }
    }

    @Test("under a writer that never pauses, the log still starts over near the restart size, far below the backstop")
    func writerThatNeverPauses() async throws {
        try await Self.withDatabase { database, path in
            // 2 MiB. The writer below commits ≈ 80 MiB; without restarts the log would grow to the backstop's 40 MiB.
            let checkpointer = WALCheckpointer(
                database: database, interval: .milliseconds(20), restartPages: 500, logger: Logger(label: "test"))
            let running = Task { try await checkpointer.run() }
            try await Task.sleep(for: .milliseconds(100))
            var largest = 0
            // Back to back, as a consumer with a backlog commits: the only moments the log could start over by itself
            // are between two transactions, and a checkpoint on another connection is never done by then.
            let data = Data(repeating: 0x5A, count: 16 << 10)
            for _ in 0..<1_200 {
                try await database.write { db in
                    for _ in 0..<4 { try db.execute(sql: "INSERT INTO blob (data) VALUES (?)", arguments: [data]) }
                }
                largest = max(largest, Self.size(path + "-wal"))
            }
            running.cancel()
            _ = await running.result
            #expect(largest > 0)
            #expect(largest < 24 << 20, "log grew to \(largest) bytes")
            #expect(try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blob") } == 1_200 * 4)
        }
    }
}
