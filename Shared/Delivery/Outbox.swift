import Foundation
import GRDB
import Synchronization
import VectisBus
import VectisContracts
import VectisStorage

/// A service's outbox: events are appended inside the same SQLite transaction as the state change that
/// caused them, and a relay sends them after commit. A crash between commit and send loses nothing.
public final class Outbox: Sendable {
    public let stream: String
    /// This stream's epoch (`bus_outbox_epoch`), carried in every header; nil for a database without one.
    public let epoch: String?
    let database: DatabasePool
    let wake = WakeSignal()
    private let encoder = Mutex(BusJSON.makeEncoder())

    /// Throws when the epoch cannot be read: without it, consumers could not tell a rebuilt database from this one.
    public init(stream: String, database: DatabasePool) throws {
        self.stream = stream
        self.database = database
        epoch = try database.read { db in
            try String.fetchOne(db, sql: "SELECT epoch FROM bus_outbox_epoch WHERE id = 1")
        }
        // One observer for the pool's lifetime wakes the relay after any commit that added outbox rows.
        database.add(transactionObserver: CommitObserver(wake: wake), extent: .databaseLifetime)
    }

    /// Appends `event` to the outbox in the caller's transaction and returns the seq it got in its topic.
    @discardableResult
    public func append<E: BusEvent>(
        _ event: E, tenant: String = "default", customerKey: String? = nil, correlationId: String? = nil,
        in db: Database
    ) throws -> UInt64 {
        // Numbered per wire topic (the topic with the tenant's shard bucket), so a replica that takes only some
        // buckets still sees gap-free sequences.
        let wireTopic = Shard.wireTopic(E.topic, tenant: tenant)
        let next = try db.cachedStatement(
            sql: """
                INSERT INTO bus_outbox_sequence (topic, last_seq) VALUES (?, 1)
                ON CONFLICT (topic) DO UPDATE SET last_seq = last_seq + 1
                RETURNING last_seq
                """)
        try next.bind(wireTopic)
        guard let seq = try next.fetchFirst({ try $0.value(0, as: UInt64.self) }) else {
            throw DatabaseError(resultCode: .SQLITE_ERROR, message: "the outbox sequence returned no row", sql: next.sql)
        }
        let header = MessageHeader(
            schemaVersion: E.schemaVersion, stream: stream, seq: seq, tenant: tenant, customerKey: customerKey,
            correlationId: correlationId, epoch: epoch)
        // The hot bodies have a hand-written encoding (the same bytes, a fraction of the cost).
        let body = try (event as? BusJSONEncodable)?.busJSON() ?? [UInt8](encoder.withLock { try $0.encode(event) })
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO bus_outbox (topic, seq, header, body, created_at) VALUES (?, ?, ?, ?, ?)
                """)
        try insert.bind(wireTopic, Int64(clamping: seq), Blob(header.jsonBytes()), Blob(body), Date().timeIntervalSince1970)
        try insert.execute()
        return seq
    }

    // MARK: Reading (the relay)

    struct Row: Sendable {
        var id: Int64
        var topic: String
        var seq: UInt64
        var header: [UInt8]
        var body: [UInt8]
        var createdAt: Double

        /// The columns ``init(columns:)`` reads, in order; callers add the WHERE.
        static let select = "SELECT id, topic, seq, header, body, created_at FROM bus_outbox"

        /// A row of ``select``, read by position (the relay reads every published event this way; a damaged value
        /// fails the read with the column named instead of trapping).
        init(columns: some StoredColumns) throws {
            id = try columns.value(0)
            topic = try columns.value(1)
            seq = try columns.value(2)
            header = [UInt8](try columns.value(3, as: Data.self))
            body = [UInt8](try columns.value(4, as: Data.self))
            createdAt = try columns.value(5)
        }

        var item: BusBundle.Item { BusBundle.Item(topic: topic, seq: seq, header: header, body: body) }
    }

    func rows(after id: Int64, limit: Int) async throws -> [Row] {
        try await database.read { db in
            let statement = try db.cachedStatement(sql: Row.select + " WHERE id > ? ORDER BY id LIMIT ?")
            try statement.bind(id, limit)
            return try statement.fetchAll(Row.init(columns:))
        }
    }

    /// Rows of `topic` from `fromSeq`, and the first seq still held (nil when the topic has none left).
    func replayRows(
        topic: String, fromSeq: UInt64, toSeq: UInt64?, limit: Int
    ) async throws -> (rows: [Row], firstAvailable: UInt64?, latest: UInt64) {
        // Both bounds were validated into 1...Int64.max; clamp again so no number off the wire can trap here.
        let from = Int64(clamping: fromSeq)
        let to = Int64(clamping: toSeq ?? UInt64(Int64.max))
        return try await database.read { db in
            let rows = try db.cachedStatement(sql: Row.select + " WHERE topic = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?")
                .fetchAll(arguments: [topic, from, to, limit], Row.init(columns:))
            let first = try UInt64.fetchOne(db, sql: "SELECT MIN(seq) FROM bus_outbox WHERE topic = ?", arguments: [topic])
            let latest =
                try UInt64.fetchOne(
                    db, sql: "SELECT last_seq FROM bus_outbox_sequence WHERE topic = ?", arguments: [topic]) ?? 0
            return (rows, first, latest)
        }
    }

    /// Every event of `E`'s topic this outbox holds (all tenants' buckets), oldest first, decoded as consumers decode
    /// them, with its header: what the service published or has committed to publish. For operators' tools and tests.
    public func committed<E: BusEvent>(_ type: E.Type) async throws -> [(header: MessageHeader, event: E)] {
        let rows = try await database.read { db in
            // Wire topics carry the tenant's shard bucket: `backup.run.observed@17`.
            try db.makeStatement(sql: Row.select + " WHERE topic LIKE ? ORDER BY id").fetchAll(
                arguments: [E.topic + "@%"], Row.init(columns:))
        }
        let decoder = BusJSON.makeDecoder()
        return try rows.map { (try MessageHeader(jsonBytes: $0.header), try decoder.decode(E.self, from: Data($0.body))) }
    }

    /// The header of a stored row, marked as a replay.
    func markedAsReplay(_ header: [UInt8]) throws -> [UInt8] {
        var decoded = try MessageHeader(jsonBytes: header)
        decoded.replay = true
        return decoded.jsonBytes()
    }

    /// Per topic, the latest seq handed to the socket before `sentThrough` (rows after it are still to be sent).
    func latestSent(sentThrough: Int64) async throws -> [String: UInt64] {
        try await database.read { db in
            var result: [String: UInt64] = [:]
            for row in try GRDB.Row.fetchAll(
                db,
                sql: """
                    SELECT s.topic, COALESCE((SELECT MIN(o.seq) - 1 FROM bus_outbox o WHERE o.topic = s.topic AND o.id > ?), s.last_seq) AS sent
                    FROM bus_outbox_sequence s
                    """,
                arguments: [sentThrough])
            {
                result[row["topic"]] = row["sent"]
            }
            return result
        }
    }

    /// The latest seq of each topic this stream has published.
    public func latestSeq() async throws -> [String: UInt64] {
        try await database.read { db in
            var result: [String: UInt64] = [:]
            for row in try GRDB.Row.fetchAll(db, sql: "SELECT topic, last_seq FROM bus_outbox_sequence") {
                result[row["topic"]] = row["last_seq"]
            }
            return result
        }
    }

    func sentThrough() async throws -> Int64 {
        try await database.read { db in
            try Int64.fetchOne(db, sql: "SELECT sent_through FROM bus_outbox_state WHERE id = 1") ?? 0
        }
    }

    func setSentThrough(_ id: Int64) async throws {
        try await database.write { db in
            try db.execute(sql: "UPDATE bus_outbox_state SET sent_through = ? WHERE id = 1", arguments: [id])
        }
    }

    /// Rows committed but not yet handed to the socket, and the age of the oldest.
    public func unsent() async throws -> (count: Int, oldestAgeSeconds: Double) {
        try await database.read { db in
            let sent = try Int64.fetchOne(db, sql: "SELECT sent_through FROM bus_outbox_state WHERE id = 1") ?? 0
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bus_outbox WHERE id > ?", arguments: [sent]) ?? 0
            let oldest = try Double.fetchOne(
                db, sql: "SELECT created_at FROM bus_outbox WHERE id > ? ORDER BY id LIMIT 1", arguments: [sent])
            return (count, oldest.map { max(0, Date().timeIntervalSince1970 - $0) } ?? 0)
        }
    }

    /// Deletes sent rows older than `maxAge` or beyond the newest `maxRows`. Returns how many went.
    func prune(maxAge: Duration, maxRows: Int, sentThrough: Int64) async throws -> Int {
        let cutoff = Date().timeIntervalSince1970 - Double(maxAge.components.seconds)
        return try await database.write { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM bus_outbox") ?? 0
            try db.execute(
                sql: "DELETE FROM bus_outbox WHERE id <= ? AND (created_at < ? OR id <= ?)",
                arguments: [sentThrough, cutoff, newest - Int64(maxRows)])
            return db.changesCount
        }
    }
}

/// Wakes the relay after a commit that inserted outbox rows.
private final class CommitObserver: TransactionObserver, @unchecked Sendable {
    // Only touched on the database's writer queue, one transaction at a time.
    private var inserted = false
    private let wake: WakeSignal

    init(wake: WakeSignal) {
        self.wake = wake
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .insert(let table) = eventKind { return table == "bus_outbox" }
        return false
    }

    func databaseDidChange(with event: DatabaseEvent) {
        inserted = true
    }

    func databaseDidCommit(_ db: Database) {
        if inserted { wake.signal() }
        inserted = false
    }

    func databaseDidRollback(_ db: Database) {
        inserted = false
    }
}
