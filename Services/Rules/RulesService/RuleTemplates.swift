import VectisContracts

/// The three templates the integration guide promises, one per PSA.
struct RuleTemplate: Codable, Sendable {
    var id: String
    var name: String
    var psa: PSAKind
    var description: String
    var defaultThresholdNights: Int
    /// Settings the PSA connection needs (secrets marked).
    var settings: [String]

    static let all: [RuleTemplate] = [
        RuleTemplate(
            id: "datto-fails-2-nights-connectwise", name: "Datto backup fails 2+ nights in a row (ConnectWise)", psa: .connectwise,
            description: "Opens one ConnectWise service ticket when an agent's backup has failed two nights in a row; adds a note on each further failed night and on recovery.",
            defaultThresholdNights: 2,
            settings: ["site", "codebase (default v4_6_release/)", "companyId", "publicKey", "privateKey (secret)", "clientId (secret)",
                       "boardId", "statusId", "priorityId", "closedStatusId"]),
        RuleTemplate(
            id: "datto-fails-2-nights-autotask", name: "Datto backup fails 2+ nights in a row (Autotask)", psa: .autotask,
            description: "Opens one Autotask ticket when an agent's backup has failed two nights in a row; adds a note on each further failed night and on recovery. The zone is found from the API user.",
            defaultThresholdNights: 2,
            settings: ["username", "secret (secret)", "integrationCode (secret)", "queueId", "statusId", "priorityId", "completeStatusId",
                       "zoneLookupURL (optional)"]),
        RuleTemplate(
            id: "datto-fails-2-nights-halopsa", name: "Datto backup fails 2+ nights in a row (HaloPSA)", psa: .halopsa,
            description: "Opens one HaloPSA ticket when an agent's backup has failed two nights in a row; adds a private action on each further failed night and on recovery.",
            defaultThresholdNights: 2,
            settings: ["instanceURL", "clientId", "clientSecret (secret)", "tenant", "ticketTypeId", "priorityId", "noteOutcomeId",
                       "closedStatusId"]),
    ]
}
