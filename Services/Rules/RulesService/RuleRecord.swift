import Foundation
import GRDB
import VectisContracts
import VectisStorage

/// A rule with its PSA settings and (decrypted, in memory only) secrets.
struct RuleRecord: Sendable {
    var id: Int64
    var tenant: String
    var psa: PSAKind
    var settings: PSASettings
    var secrets: PSASecrets
    /// The sealed secrets could not be opened (the key file was replaced): `secrets` is empty until entered again.
    var secretsUnreadable = false

    /// Throws when the secrets cannot be opened, unless `tolerateUnreadableSecrets` (then `secretsUnreadable` says so).
    static func load(_ id: Int64, db: Database, secrets box: SecretBox, tolerateUnreadableSecrets: Bool = false) throws -> RuleRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM rule WHERE id = ?", arguments: [id]) else { return nil }
        let settings = try JSONDecoder().decode(PSASettings.self, from: Data((row["settings"] as String).utf8))
        var record = RuleRecord(
            id: id, tenant: row["tenant"], psa: PSAKind(rawValue: row["psa"]) ?? .connectwise, settings: settings, secrets: PSASecrets())
        do {
            record.secrets = try JSONDecoder().decode(PSASecrets.self, from: Data(try box.open(row["secrets_sealed"]).utf8))
        } catch  where tolerateUnreadableSecrets {
            record.secretsUnreadable = true
        }
        return record
    }

    static let unreadableSecrets = "The stored secrets cannot be decrypted with this service's key file; enter them again (Edit)."
}
