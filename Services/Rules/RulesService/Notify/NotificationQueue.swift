import Foundation
import GRDB
import VectisAPI
import VectisStorage

extension NotificationEvent: DatabaseValueConvertible {}
extension NotificationView.State: DatabaseValueConvertible {}

/// One row of `notification`: a message for one channel, and how its delivery went.
struct NotificationRecord: StoredRecord, Sendable {
    var id: Int64
    var channelId: Int64
    var ruleId: Int64?
    var dedupeKey: String
    var event: NotificationEvent
    var token: String
    /// `WebhookPayload` as JSON (its `delivery` filled in when sent): every channel's format is rendered from it.
    var message: String
    var state: NotificationView.State
    var attempts: Int
    var notBefore: Date
    var lastError: String?
    var createdAt: Date
    var sentAt: Date?

    static func publicId(_ id: Int64) -> String { "nt_\(id)" }

    func payload() throws -> WebhookPayload {
        var payload = try APIJSON.decode(WebhookPayload.self, from: Data(message.utf8))
        payload.delivery = Self.publicId(id)
        return payload
    }

    var view: NotificationView {
        let payload = try? payload()
        return NotificationView(
            id: Self.publicId(id), channelId: ChannelRecord.publicId(channelId), ruleId: ruleId.map { "ru_\($0)" }, event: event,
            title: payload?.title ?? "(unreadable message)", customerName: payload?.customerName, subjectName: payload?.agentName,
            state: state, attempts: attempts, lastError: lastError, createdAt: createdAt, sentAt: sentAt)
    }
}

/// The `notification` queue: the SQL of the notification worker and of the rules that fill it.
enum NotificationQueue {
    /// Queues a message; false when this channel already has it (same problem, event and night): a replayed or
    /// re-evaluated fact sends nothing twice.
    @discardableResult
    static func enqueue(
        channel: Int64, rule: Int64?, dedupeKey: String, event: NotificationEvent, token: String, message: WebhookPayload, now: Date,
        _ db: Database
    ) throws -> Bool {
        let json = String(decoding: try APIJSON.encoder().encode(message), as: UTF8.self)
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO notification (channel_id, rule_id, dedupe_key, event, token, message, state, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [channel, rule, dedupeKey, event, token, json, NotificationView.State.pending, now.timeIntervalSince1970])
        return db.changesCount > 0
    }

    /// The oldest messages that may go now, waiting or found in flight (after a crash mid-send), of enabled channels.
    static func due(now: Date, limit: Int = 100, _ db: Database) throws -> [NotificationRecord] {
        try NotificationRecord.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT n.* FROM notification n JOIN notify_channel c ON c.id = n.channel_id
                    WHERE n.state IN (?, ?) AND n.not_before <= ? AND c.enabled ORDER BY n.id LIMIT ?
                    """),
            arguments: [NotificationView.State.pending, NotificationView.State.inFlight, now.timeIntervalSince1970, limit])
    }

    /// Messages sent to a channel since `since`, and the oldest of them: the rate limit's window.
    static func sent(channel: Int64, since: Date, _ db: Database) throws -> (count: Int, oldest: Date?) {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT COUNT(*), MIN(sent_at) FROM notification WHERE channel_id = ? AND sent_at > ?"),
            arguments: [channel, since.timeIntervalSince1970])
        let oldest: Double? = row?[1]
        return (row?[0] ?? 0, oldest.map { Date(timeIntervalSince1970: $0) })
    }

    /// Marked before the send and committed: found like this after a crash, it may have gone (it is sent again
    /// with the same delivery id, which receivers can use to drop the copy).
    static func markInFlight(_ id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notification SET state = ?, attempts = attempts + 1 WHERE id = ?")
            .execute(arguments: [NotificationView.State.inFlight, id])
    }

    static func markSent(_ id: Int64, at now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notification SET state = ?, last_error = NULL, sent_at = ? WHERE id = ?")
            .execute(arguments: [NotificationView.State.sent, now.timeIntervalSince1970, id])
    }

    static func reschedule(_ id: Int64, notBefore: Date, error: String?, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notification SET state = ?, not_before = ?, last_error = COALESCE(?, last_error) WHERE id = ?")
            .execute(arguments: [NotificationView.State.pending, notBefore.timeIntervalSince1970, error, id])
    }

    /// The channel's other waiting messages wait for its retry too (none counts an attempt): a broken server is tried
    /// once per backoff, not once per message.
    static func hold(channel: Int64, until: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notification SET not_before = MAX(not_before, ?) WHERE channel_id = ? AND state = ?")
            .execute(arguments: [until.timeIntervalSince1970, channel, NotificationView.State.pending])
    }

    static func markFailed(_ id: Int64, error: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notification SET state = ?, last_error = ? WHERE id = ?")
            .execute(arguments: [NotificationView.State.failed, error, id])
    }

    /// A channel's waiting messages become due now (its settings or secrets were just fixed).
    static func retryNow(channel: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notification SET not_before = 0 WHERE channel_id = ? AND state IN (?, ?)")
            .execute(arguments: [channel, NotificationView.State.pending, NotificationView.State.inFlight])
    }

    static func waiting(channel: Int64, _ db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COUNT(*) FROM notification WHERE channel_id = ? AND state IN (?, ?)"),
            arguments: [channel, NotificationView.State.pending, NotificationView.State.inFlight]) ?? 0
    }

    /// Newest first, at most `limit` (1–500).
    static func list(channel: Int64?, limit: Int, _ db: Database) throws -> [NotificationRecord] {
        if let channel {
            return try NotificationRecord.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM notification WHERE channel_id = ? ORDER BY id DESC LIMIT ?"),
                arguments: [channel, limit])
        }
        return try NotificationRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM notification ORDER BY id DESC LIMIT ?"), arguments: [limit])
    }

    /// Sent and given-up messages older than `keep` go (the problem's state in `notify_problem` and the consumer's
    /// applied facts keep replays from sending again); returns how many.
    @discardableResult
    static func prune(olderThan cutoff: Date, _ db: Database) throws -> Int {
        try db.cachedStatement(sql: "DELETE FROM notification WHERE state IN (?, ?) AND created_at < ?")
            .execute(arguments: [NotificationView.State.sent, NotificationView.State.failed, cutoff.timeIntervalSince1970])
        return db.changesCount
    }

    /// How long sent messages are listed.
    static let keep: TimeInterval = 90 * 86_400

    /// Retries from 10 s doubling up to 15 minutes; given up after two days.
    static func backoff(attempts: Int) -> TimeInterval {
        min(900, 10 * Double(1 << (min(max(attempts, 1), 8) - 1)))
    }

    static let giveUpAfter: TimeInterval = 2 * 86_400
}
