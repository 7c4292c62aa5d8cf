import Foundation

/// A rule's PSA connection and ticket settings, as the API takes and shows them. Which ones a PSA needs is in
/// `PSAField.fields(for:)`.
public struct PSASettings: Codable, Sendable, Equatable {
    // ConnectWise
    public var site: String?
    public var codebase: String?
    public var companyId: String?
    public var publicKey: String?
    public var boardId: Int?
    public var statusId: Int?
    public var priorityId: Int?
    public var closedStatusId: Int?
    // Autotask
    public var zoneLookupURL: String?
    public var username: String?
    public var queueId: Int?
    public var completeStatusId: Int?
    // HaloPSA
    public var instanceURL: String?
    public var clientId: String?
    public var tenant: String?
    public var ticketTypeId: Int?
    public var noteOutcomeId: Int?
    // Every PSA
    /// The status a reopened ticket gets (default: the status for new tickets, or the PSA's "New").
    public var reopenStatusId: Int?
    /// The priority of a workstation's ticket (default: one step below `priorityId` in the PSA's own order).
    public var workstationPriorityId: Int?
    /// The priority of a share's ticket (default: `priorityId`).
    public var sharePriorityId: Int?
    // HaloPSA's impact and urgency, for servers and shares, and for workstations.
    public var impact: Int?
    public var urgency: Int?
    public var workstationImpact: Int?
    public var workstationUrgency: Int?

    public init(
        site: String? = nil, codebase: String? = nil, companyId: String? = nil, publicKey: String? = nil, boardId: Int? = nil,
        statusId: Int? = nil, priorityId: Int? = nil, closedStatusId: Int? = nil, zoneLookupURL: String? = nil,
        username: String? = nil, queueId: Int? = nil, completeStatusId: Int? = nil, instanceURL: String? = nil,
        clientId: String? = nil, tenant: String? = nil, ticketTypeId: Int? = nil, noteOutcomeId: Int? = nil,
        reopenStatusId: Int? = nil, workstationPriorityId: Int? = nil, sharePriorityId: Int? = nil, impact: Int? = nil,
        urgency: Int? = nil, workstationImpact: Int? = nil, workstationUrgency: Int? = nil
    ) {
        self.workstationPriorityId = workstationPriorityId
        self.sharePriorityId = sharePriorityId
        self.impact = impact
        self.urgency = urgency
        self.workstationImpact = workstationImpact
        self.workstationUrgency = workstationUrgency
        self.reopenStatusId = reopenStatusId
        self.site = site
        self.codebase = codebase
        self.companyId = companyId
        self.publicKey = publicKey
        self.boardId = boardId
        self.statusId = statusId
        self.priorityId = priorityId
        self.closedStatusId = closedStatusId
        self.zoneLookupURL = zoneLookupURL
        self.username = username
        self.queueId = queueId
        self.completeStatusId = completeStatusId
        self.instanceURL = instanceURL
        self.clientId = clientId
        self.tenant = tenant
        self.ticketTypeId = ticketTypeId
        self.noteOutcomeId = noteOutcomeId
    }
}

/// A rule's PSA secrets: write-only (sealed at rest, never in an answer; `RuleView.secretsSet` names the ones set).
extension PSASettings {
    /// The priority for a ticket about an agent of this class (nil: the rule's `priorityId`, or one step below it
    /// for a workstation — the adapter knows the PSA's order).
    public func priorityId(for agentClass: AgentClass?) -> Int? {
        switch agentClass {
        case .workstation: workstationPriorityId
        case .share: sharePriorityId ?? priorityId
        case .server, nil: priorityId
        }
    }
}

public struct PSASecrets: Codable, Sendable, Equatable {
    public var privateKey: String?  // ConnectWise
    public var clientId: String?  // ConnectWise's clientId header is per integration and treated as secret
    public var secret: String?  // Autotask
    public var integrationCode: String?  // Autotask tracking identifier
    public var clientSecret: String?  // HaloPSA

    public init(
        privateKey: String? = nil, clientId: String? = nil, secret: String? = nil, integrationCode: String? = nil,
        clientSecret: String? = nil
    ) {
        self.privateKey = privateKey
        self.clientId = clientId
        self.secret = secret
        self.integrationCode = integrationCode
        self.clientSecret = clientSecret
    }

    /// The names of the secrets that hold a value.
    public var names: [String] {
        [
            ("privateKey", privateKey), ("clientId", clientId), ("secret", secret), ("integrationCode", integrationCode),
            ("clientSecret", clientSecret)
        ].filter { $0.1 != nil }.map(\.0)
    }
}
