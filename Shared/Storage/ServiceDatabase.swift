import Foundation
import GRDB

/// Opens a service's own SQLite database: WAL (readers never wait for the writer), a busy timeout, and the
/// service's migrations applied.
///
/// Durability: GRDB's pool runs the writer with `synchronous=NORMAL` in WAL mode. A committed transaction
/// survives the process being killed (the WAL is in the OS page cache); only a power loss can take the last
/// transactions with it. Nothing here needs more: what a crash could lose is re-polled or replayed.
public enum ServiceDatabase {
    public static func open(at path: String, migrator: DatabaseMigrator) throws -> DatabasePool {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try migrator.migrate(pool)
        return pool
    }
}
