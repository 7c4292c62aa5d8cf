import Foundation
import VectisContracts

/// A rule's PSA connection and ticket settings. `secrets` are sealed at rest and never returned.
struct PSASettings: Codable, Sendable, Equatable {
    // ConnectWise
    var site: String?
    var codebase: String?
    var companyId: String?
    var publicKey: String?
    var boardId: Int?
    var statusId: Int?
    var priorityId: Int?
    var closedStatusId: Int?
    // Autotask
    var zoneLookupURL: String?
    var username: String?
    var queueId: Int?
    var completeStatusId: Int?
    // HaloPSA
    var instanceURL: String?
    var clientId: String?
    var tenant: String?
    var ticketTypeId: Int?
    var noteOutcomeId: Int?

    /// What must be present for each PSA, in the words the API error will use.
    func missing(for psa: PSAKind, secrets: PSASecrets) -> [String] {
        var missing: [String] = []
        func need(_ value: Any?, _ name: String) { if value == nil { missing.append(name) } }
        switch psa {
        case .connectwise:
            need(site, "site"); need(companyId, "companyId"); need(publicKey, "publicKey"); need(secrets.privateKey, "privateKey")
            need(secrets.clientId, "clientId"); need(boardId, "boardId")
        case .autotask:
            need(username, "username"); need(secrets.secret, "secret"); need(secrets.integrationCode, "integrationCode"); need(queueId, "queueId")
        case .halopsa:
            need(instanceURL, "instanceURL"); need(clientId, "clientId"); need(secrets.clientSecret, "clientSecret"); need(ticketTypeId, "ticketTypeId")
        }
        return missing
    }
}

struct PSASecrets: Codable, Sendable, Equatable {
    var privateKey: String?  // ConnectWise
    var clientId: String?  // ConnectWise's clientId header is per integration and treated as secret
    var secret: String?  // Autotask
    var integrationCode: String?  // Autotask tracking identifier
    var clientSecret: String?  // HaloPSA
}
