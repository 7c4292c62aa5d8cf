import Foundation
import GRDB
import VectisAPI
import VectisStorage

extension ChannelKind: DatabaseValueConvertible {}
extension ChannelView.Status: DatabaseValueConvertible {}

/// One row of `notify_channel`: where messages go, its settings (JSON), sealed secrets, and how delivery went.
struct ChannelRecord: StoredRecord, Sendable {
    var id: Int64
    var tenant: String
    var name: String
    var kind: ChannelKind
    /// `ChannelSettings` as JSON.
    var settings: String
    /// `ChannelSecrets` as JSON, sealed with the service's key (`SecretBox`).
    var secretsSealed: Data
    var ratePerHour: Int
    var digestAt: String?
    var digestTimeZone: String
    var nextDigestAt: Date?
    var enabled: Bool
    var status: ChannelView.Status
    var lastError: String?
    var lastSentAt: Date?
    var lastFailedAt: Date?
    var createdAt: Date

    static func publicId(_ id: Int64) -> String { "ch_\(id)" }

    static func id(_ text: String) -> Int64? { Int64(text.hasPrefix("ch_") ? String(text.dropFirst(3)) : text) }

    func channelSettings() throws -> ChannelSettings {
        try JSONDecoder().decode(ChannelSettings.self, from: Data(settings.utf8))
    }

    func channelSecrets(_ box: SecretBox) throws -> ChannelSecrets {
        try JSONDecoder().decode(ChannelSecrets.self, from: Data(try box.open(secretsSealed).utf8))
    }

    static let unreadableSecrets = "The stored secrets cannot be decrypted with this service's key file; enter them again (Edit)."

    func view(secrets box: SecretBox, waiting: Int) -> ChannelView {
        let secrets = try? channelSecrets(box)
        return ChannelView(
            id: Self.publicId(id), tenant: tenant, name: name, kind: kind, settings: (try? channelSettings()) ?? ChannelSettings(),
            secretsSet: secrets?.names ?? [], secretsProblem: secrets == nil ? Self.unreadableSecrets : nil, ratePerHour: ratePerHour,
            digestAt: digestAt, digestTimeZone: digestTimeZone, nextDigestAt: nextDigestAt, enabled: enabled, status: status,
            lastError: lastError, lastSentAt: lastSentAt, lastFailedAt: lastFailedAt, waiting: waiting)
    }

    // MARK: Queries

    static func find(id: Int64, _ db: Database) throws -> ChannelRecord? {
        try ChannelRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM notify_channel WHERE id = ?"), arguments: [id])
    }

    /// Whether the channel exists and is enabled.
    static func isEnabled(id: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT enabled FROM notify_channel WHERE id = ?"), arguments: [id]) ?? false
    }

    static func all(_ db: Database) throws -> [ChannelRecord] {
        try ChannelRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM notify_channel ORDER BY id"))
    }

    /// Enabled channels whose digest is due.
    static func digestsDue(at now: Date, _ db: Database) throws -> [ChannelRecord] {
        try ChannelRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM notify_channel WHERE enabled AND next_digest_at IS NOT NULL AND next_digest_at <= ?"),
            arguments: [now.timeIntervalSince1970])
    }

    /// The channel ids a rule names (`ch_1` or `1`), each checked to exist in the rule's tenant.
    static func resolve(_ names: [String], tenant: String, _ db: Database) throws -> Result<[Int64], RuleRefusal> {
        guard names.count <= 20 else { return .failure(RuleRefusal(message: "notifyChannels holds at most 20 channels.")) }
        var ids: [Int64] = []
        for name in names {
            guard let id = Self.id(name), let channel = try find(id: id, db), channel.tenant == tenant else {
                return .failure(RuleRefusal(message: "notifyChannels: no channel \(name.prefix(40)) in tenant \(tenant)."))
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return .success(ids)
    }

    // MARK: Changes

    static func insert(_ channel: ChannelRecord, _ db: Database) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO notify_channel (tenant, name, kind, settings, secrets_sealed, rate_per_hour, digest_at, digest_time_zone,
                    next_digest_at, enabled, status, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            channel.tenant, channel.name, channel.kind, channel.settings, channel.secretsSealed, channel.ratePerHour, channel.digestAt,
            channel.digestTimeZone, channel.nextDigestAt?.timeIntervalSince1970, channel.enabled, channel.status,
            channel.createdAt.timeIntervalSince1970
        ])
        return db.lastInsertedRowID
    }

    /// Saves what an edit may change (not the delivery status).
    static func save(_ channel: ChannelRecord, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE notify_channel SET name = ?, settings = ?, secrets_sealed = ?, rate_per_hour = ?, digest_at = ?,
                    digest_time_zone = ?, next_digest_at = ?, enabled = ? WHERE id = ?
                """
        ).execute(arguments: [
            channel.name, channel.settings, channel.secretsSealed, channel.ratePerHour, channel.digestAt, channel.digestTimeZone,
            channel.nextDigestAt?.timeIntervalSince1970, channel.enabled, channel.id
        ])
    }

    static func delete(id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "DELETE FROM notify_channel WHERE id = ?").execute(arguments: [id])
    }

    static func markDelivered(_ id: Int64, at now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notify_channel SET status = ?, last_error = NULL, last_sent_at = ? WHERE id = ?")
            .execute(arguments: [ChannelView.Status.ok, now.timeIntervalSince1970, id])
    }

    static func markFailing(_ id: Int64, error: String, at now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notify_channel SET status = ?, last_error = ?, last_failed_at = ? WHERE id = ?")
            .execute(arguments: [ChannelView.Status.failing, error, now.timeIntervalSince1970, id])
    }

    static func setNextDigest(_ id: Int64, at next: Date?, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE notify_channel SET next_digest_at = ? WHERE id = ?")
            .execute(arguments: [next?.timeIntervalSince1970, id])
    }
}
