import CSQLiteSetup
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
        // Customer data and sealed secrets live here: a new folder is the owner's alone, and so is each file.
        if !FileManager.default.fileExists(atPath: directory.path) {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw DatabaseFileError(path: path, problem: "cannot be created (is the folder writable?)")
            }
        }
        _ = sqliteMultithreadMode
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try migrator.migrate(pool)
        } catch let error as DatabaseFileError {
            throw error
        } catch {
            throw DatabaseFileError(
                path: path,
                problem: "cannot be opened or migrated (\(error)); check the file's owner and "
                    + "permissions, free disk space, or restore it from a backup")
        }
        // A damaged file is said at start, with what to do, rather than found by the first query that touches it.
        let verdict = (try? pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check(5)") }) ?? ["could not be run"]
        guard verdict == ["ok"] else {
            throw DatabaseFileError(
                path: path,
                problem: "is damaged (quick_check: \(verdict.joined(separator: "; ").prefix(300))); restore it from a backup, "
                    + "or move it away to start empty (a producer's events are then replayed, the collector re-polls)")
        }
        // The WAL and shared-memory files SQLite made beside it are the owner's only too.
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path + suffix)
        }
        return pool
    }
}

/// A service's database file that cannot be used, with the path and what to do.
public struct DatabaseFileError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "database \(path) \(problem)" }
}

/// Set once, before this process's first connection opens: every connection is used by one thread at a time (GRDB
/// serializes each), so SQLite's own per-call mutexes and its allocation statistics — ≈ 5% of a busy consumer's time
/// in Debian's serialized build — buy nothing. Nothing changes if SQLite was already in use (then it stays serialized).
public let sqliteMultithreadMode: Bool = vectis_sqlite_use_multithread_mode() == 1
