import Foundation
import GRDB
import VectisBus
import VectisContracts

/// Messages a handler could not take (a decode or logic error, never a transient database error), kept in
/// `bus_dead_letter` with the error. An operator lists them and, once the cause is fixed (a new version, a
/// repaired row), applies them again: `vectis dead-letters list|retry`.
public struct DeadLetter: Codable, Sendable, Equatable {
    public var id: Int64
    public var stream: String
    public var topic: String
    public var seq: Int64
    public var error: String
    public var failedAt: Date
    public var attempts: Int

    public init(id: Int64, stream: String, topic: String, seq: Int64, error: String, failedAt: Date, attempts: Int) {
        self.id = id
        self.stream = stream
        self.topic = topic
        self.seq = seq
        self.error = error
        self.failedAt = failedAt
        self.attempts = attempts
    }
}

/// What a retry did.
public struct DeadLetterRetry: Codable, Sendable, Equatable {
    public var applied: Int
    public var stillFailing: Int
}

public enum DeadLetters {
    static func insert(_ item: ReceivedEvent, error: any Error, at now: Double, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO bus_dead_letter (stream, topic, seq, header, body, error, failed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                item.header.stream, item.topic, Int64(clamping: item.header.seq), Data(item.header.jsonBytes()),
                Data(item.message.body), String("\(error)".prefix(2_000)), now
            ])
    }

    /// The oldest first, at most `limit`.
    static func list(_ database: DatabasePool, limit: Int = 500) async throws -> [DeadLetter] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT id, stream, topic, seq, error, failed_at, attempts FROM bus_dead_letter ORDER BY id LIMIT ?",
                arguments: [max(1, min(limit, 10_000))]
            ).map { row in
                DeadLetter(
                    id: row["id"], stream: row["stream"], topic: row["topic"], seq: row["seq"], error: row["error"],
                    failedAt: (row["failed_at"] as Date), attempts: row["attempts"])
            }
        }
    }
}

extension BusConsumer {
    /// Applies every dead letter again, oldest first, each in its own transaction: one that works is removed,
    /// one that still fails keeps its place with the new error and one more attempt counted.
    public func retryDeadLetters() async throws -> DeadLetterRetry {
        let letters = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, topic, header, body FROM bus_dead_letter ORDER BY id LIMIT 10000")
                .map { ($0["id"] as Int64, $0["topic"] as String, [UInt8]($0["header"] as Data), [UInt8]($0["body"] as Data)) }
        }
        let codec = BusFrameCodec()
        var result = DeadLetterRetry(applied: 0, stillFailing: 0)
        for (id, topic, header, body) in letters {
            let received: ReceivedEvent
            switch codec.decode(frames: [Array(topic.utf8), header, body]) {
            case .success(let message):
                switch codec.decodeEvent(message) {
                case .success(let event): received = ReceivedEvent(message: message, event: event)
                case .failure(let reason):
                    try await markFailed(id, error: "body cannot be read: \(reason.rawValue)")
                    result.stillFailing += 1
                    continue
                }
            case .failure(let reason):
                try await markFailed(id, error: "message cannot be read: \(reason.rawValue)")
                result.stillFailing += 1
                continue
            }
            do {
                let handler = self.handler
                try await database.write { db in
                    try handler(received, db)
                    try db.execute(sql: "DELETE FROM bus_dead_letter WHERE id = ?", arguments: [id])
                }
                result.applied += 1
            } catch {
                try await markFailed(id, error: "\(error)")
                result.stillFailing += 1
            }
        }
        return result
    }

    private func markFailed(_ id: Int64, error: String) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE bus_dead_letter SET error = ?, attempts = attempts + 1, failed_at = ? WHERE id = ?",
                arguments: [String(error.prefix(2_000)), Date().timeIntervalSince1970, id])
        }
    }

    /// The dead letters of this consumer's database, oldest first.
    public func deadLetters(limit: Int = 500) async throws -> [DeadLetter] {
        try await DeadLetters.list(database, limit: limit)
    }
}
