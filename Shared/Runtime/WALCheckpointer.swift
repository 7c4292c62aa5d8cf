import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Copies the write-ahead log back into the database file from its own connection, so the writer never stops to
/// do it.
///
/// SQLite's default has the committing writer checkpoint whenever the log passes 1,000 pages (4 MiB). A busy
/// consumer commits that much in one or two batches, so almost every batch paid for a checkpoint — reading each
/// page back from the log, writing it into the file, two `fdatasync`s — while the events behind it waited; a page
/// rewritten by every batch (an agent's summary, a night's roll-up) was copied every time. Here a passive
/// checkpoint runs every `interval` beside the writer (it never blocks the writer or readers), each page is copied
/// once per checkpoint however often it changed.
///
/// The log starts over from its beginning only when a transaction begins with every page of it copied. A writer
/// that commits every few milliseconds never gives a checkpoint on another connection that moment: it always commits
/// something while the checkpoint copies. So once the log passes `restartPages`, the checkpoint is finished on the
/// writer's own connection, between two of its transactions: only what was committed during the passive checkpoint
/// is left to copy, and the next transaction starts the log over. Left to itself, the log grew until the writer's own
/// checkpoint (the backstop at `backstopPages`) ran inside a commit — copying up to 250 ms of pages and syncing both
/// files while the events behind it waited, a 16–40 ms stall about once a second across the services. The backstop
/// stays, for a checkpointer that cannot keep up. `journal_size_limit` gives the disk back after a burst.
public struct WALCheckpointer: Service {
    /// The writer's own checkpoint starts only past this many log pages (4 KiB each: 40 MiB).
    public static let backstopPages = 10_000
    /// Past this many log pages (12 MiB) the checkpoint is finished on the writer's connection, so the log starts over.
    public static let restartPages = 3_000
    /// The log file is cut back to this size when it restarts.
    public static let logSizeLimitBytes = 64 << 20

    let database: DatabasePool
    let interval: Duration
    let restartPages: Int
    let logger: Logger

    public init(
        database: DatabasePool, interval: Duration = .milliseconds(250), restartPages: Int = Self.restartPages, logger: Logger
    ) {
        self.database = database
        self.interval = interval
        self.restartPages = restartPages
        self.logger = logger
    }

    public func run() async throws {
        try await database.writeWithoutTransaction { db in
            try Self.leaveCheckpointsToCheckpointer(db)
        }
        let connection = try Self.connection(to: database.path)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { break }
            do {
                if try await Self.checkpoint(connection).logPages >= restartPages {
                    try await Self.finishOnWriter(database)
                }
            } catch is CancellationError {
                break
            } catch {
                // A failed checkpoint loses nothing (the log still holds every commit); the next one retries.
                logger.warning(
                    "background checkpoint failed; the writer's own checkpoint still bounds the log", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Raises the writer's checkpoint threshold to the backstop and bounds the log file's size.
    static func leaveCheckpointsToCheckpointer(_ db: Database) throws {
        _ = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint = \(backstopPages)")
        _ = try Int.fetchOne(db, sql: "PRAGMA journal_size_limit = \(logSizeLimitBytes)")
    }

    /// A connection of its own: the pool's readers are read-only, and its writer is what must not wait.
    static func connection(to path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.label = "checkpointer"
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// A passive checkpoint on the writer's own connection, between two of its transactions: it copies what was
    /// committed since the last checkpoint (the writer waits that long), and the writer's next transaction finds every
    /// page copied and starts the log over. (A reader still reading from the log at that moment puts the restart off to
    /// the next time; nothing waits for it.)
    @discardableResult
    static func finishOnWriter(_ database: DatabasePool) async throws -> (logPages: Int, checkpointedPages: Int) {
        try await database.writeWithoutTransaction(passiveCheckpoint)
    }

    /// One passive checkpoint on the checkpointer's connection (it never waits for a reader or the writer): copies
    /// every committed page no reader still needs. Returns the log's pages and how many of them are in the file.
    @discardableResult
    static func checkpoint(_ connection: DatabaseQueue) async throws -> (logPages: Int, checkpointedPages: Int) {
        try await connection.writeWithoutTransaction(passiveCheckpoint)
    }

    /// `PRAGMA wal_checkpoint(PASSIVE)` on `db`'s connection: the log's pages and how many of them are in the file.
    @Sendable static func passiveCheckpoint(_ db: Database) throws -> (logPages: Int, checkpointedPages: Int) {
        let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
        return (row?[1] ?? 0, row?[2] ?? 0)
    }
}
