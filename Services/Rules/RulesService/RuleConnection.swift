import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// A rule's PSA connection: its settings and (decrypted, in memory only) secrets — what an adapter is made from.
struct RuleConnection: Sendable {
    var id: Int64
    var tenant: String
    var psa: PSAKind
    var settings: PSASettings
    var secrets: PSASecrets
    /// The sealed secrets could not be opened (the key file was replaced): `secrets` is empty until entered again.
    var secretsUnreadable = false

    /// Throws when the settings cannot be read, or the secrets cannot be opened unless `tolerateUnreadableSecrets`
    /// (then `secretsUnreadable` says so).
    static func load(_ id: Int64, db: Database, secrets box: SecretBox, tolerateUnreadableSecrets: Bool = false) throws -> RuleConnection? {
        guard let rule = try RuleRecord.find(id: id, db) else { return nil }
        var connection = RuleConnection(id: id, tenant: rule.tenant, psa: rule.psa, settings: try rule.psaSettings(), secrets: PSASecrets())
        do {
            connection.secrets = try rule.psaSecrets(box)
        } catch  where tolerateUnreadableSecrets {
            connection.secretsUnreadable = true
        }
        return connection
    }

    static let unreadableSecrets = "The stored secrets cannot be decrypted with this service's key file; enter them again (Edit)."
}
