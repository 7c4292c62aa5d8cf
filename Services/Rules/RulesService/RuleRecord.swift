import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

extension PSAKind: DatabaseValueConvertible {}
extension RuleTrigger: DatabaseValueConvertible {}
extension RuleAction: DatabaseValueConvertible {}

/// One row of `rule`: what a rule does, its PSA settings (JSON) and sealed secrets.
struct RuleRecord: StoredRecord, Sendable {
    var id: Int64
    var tenant: String
    var templateId: String
    var name: String
    var psa: PSAKind
    var trigger: RuleTrigger
    /// `PSASettings` as JSON.
    var settings: String
    /// `PSASecrets` as JSON, sealed with the service's key (`SecretBox`).
    var secretsSealed: Data
    var thresholdNights: Int
    var closeOnRecovery: Bool
    var action: RuleAction
    var maxRetries: Int
    var dryRunUntil: Date
    var enabled: Bool
    var createdAt: Date
    var whenClosedByPerson: WhenClosedByPerson
    var reopenWindowDays: Int
    /// The channel ids (`[1, 4]`) as JSON.
    var notifyChannels: String
    var notifyRepeat: Bool

    /// The channels this rule tells; a list that cannot be read tells none (and says so in the view).
    var channelIds: [Int64] {
        (try? JSONDecoder().decode([Int64].self, from: Data(notifyChannels.utf8))) ?? []
    }

    func psaSettings() throws -> PSASettings {
        try JSONDecoder().decode(PSASettings.self, from: Data(settings.utf8))
    }

    func psaSecrets(_ box: SecretBox) throws -> PSASecrets {
        try JSONDecoder().decode(PSASecrets.self, from: Data(try box.open(secretsSealed).utf8))
    }

    func isDryRun(at now: Date) -> Bool { now < dryRunUntil }

    /// As the API shows it. One rule whose settings or secrets cannot be read must not hide the others: it is
    /// shown with the problem named.
    func view(secrets box: SecretBox, now: Date = Date()) -> RuleView {
        let secrets = try? psaSecrets(box)
        let settings = try? psaSettings()
        return RuleView(
            id: "ru_\(id)", tenant: tenant, templateId: templateId, name: name, psa: psa, trigger: trigger,
            settings: settings ?? PSASettings(), secretsSet: secrets?.names ?? [],
            secretsProblem: secrets == nil ? RuleConnection.unreadableSecrets : nil,
            settingsProblem: settings == nil ? "The stored settings cannot be read; enter them again (Edit)." : nil,
            thresholdNights: thresholdNights, closeOnRecovery: closeOnRecovery, action: action, maxRetries: maxRetries,
            dryRunUntil: dryRunUntil, dryRun: isDryRun(at: now), enabled: enabled, whenClosedByPerson: whenClosedByPerson,
            reopenWindowDays: reopenWindowDays, notifyChannels: channelIds.map(ChannelRecord.publicId), notifyRepeat: notifyRepeat)
    }

    // MARK: Queries

    static func find(id: Int64, _ db: Database) throws -> RuleRecord? {
        try RuleRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM rule WHERE id = ?"), arguments: [id])
    }

    static func exists(id: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM rule WHERE id = ?"), arguments: [id]) ?? false
    }

    static func all(_ db: Database) throws -> [RuleRecord] {
        try RuleRecord.fetchAll(db.cachedStatement(sql: "SELECT * FROM rule ORDER BY id"))
    }

    /// The enabled rules of a tenant that act on this trigger.
    static func enabled(tenant: String, trigger: RuleTrigger, _ db: Database) throws -> [RuleRecord] {
        try RuleRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM rule WHERE tenant = ? AND enabled AND trigger = ?"), arguments: [tenant, trigger])
    }

    // MARK: Changes

    /// A new, enabled rule; returns its id.
    static func insert(
        tenant: String, template: RuleTemplate, name: String, settings: PSASettings, secretsSealed: Data, thresholdNights: Int,
        closeOnRecovery: Bool, action: RuleAction, maxRetries: Int, dryRunUntil: Date, whenClosedByPerson: WhenClosedByPerson,
        reopenWindowDays: Int, notifyChannels: [Int64], notifyRepeat: Bool, now: Date, _ db: Database
    ) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO rule (tenant, template_id, name, psa, settings, secrets_sealed, threshold_nights, close_on_recovery,
                    action, max_retries, dry_run_until, enabled, created_at, trigger, when_closed_by_person, reopen_window_days,
                    notify_channels, notify_repeat)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            tenant, template.id, name, template.psa, try Self.json(settings), secretsSealed, thresholdNights, closeOnRecovery,
            action, maxRetries, dryRunUntil.timeIntervalSince1970, now.timeIntervalSince1970, template.trigger, whenClosedByPerson,
            reopenWindowDays, try Self.json(notifyChannels), notifyRepeat
        ])
        return db.lastInsertedRowID
    }

    /// Saves what an edit changes (not the switches).
    static func save(_ edit: RuleEdit, id: Int64, secretsSealed: Data, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE rule SET name = ?, settings = ?, secrets_sealed = ?, threshold_nights = ?, close_on_recovery = ?,
                    action = ?, max_retries = ?, when_closed_by_person = ?, reopen_window_days = ?, notify_channels = ?,
                    notify_repeat = ? WHERE id = ?
                """
        ).execute(arguments: [
            edit.name, try Self.json(edit.settings), secretsSealed, edit.threshold, edit.closeOnRecovery, edit.action, edit.maxRetries,
            edit.whenClosedByPerson, edit.reopenWindowDays, try Self.json(edit.notifyChannels), edit.notifyRepeat, id
        ])
    }

    /// The rules that tell this channel.
    static func using(channel: Int64, _ db: Database) throws -> [RuleRecord] {
        try all(db).filter { $0.channelIds.contains(channel) }
    }

    static func setEnabled(_ enabled: Bool, id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE rule SET enabled = ? WHERE id = ?").execute(arguments: [enabled, id])
    }

    static func setDryRun(until: Date, id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE rule SET dry_run_until = ? WHERE id = ?").execute(arguments: [until.timeIntervalSince1970, id])
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}
