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

    static func load(_ id: Int64, db: Database, secrets box: SecretBox) throws -> RuleRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM rule WHERE id = ?", arguments: [id]) else { return nil }
        let settings = try JSONDecoder().decode(PSASettings.self, from: Data((row["settings"] as String).utf8))
        let secrets = try JSONDecoder().decode(PSASecrets.self, from: Data(try box.open(row["secrets_sealed"]).utf8))
        return RuleRecord(id: id, tenant: row["tenant"], psa: PSAKind(rawValue: row["psa"]) ?? .connectwise, settings: settings, secrets: secrets)
    }
}
