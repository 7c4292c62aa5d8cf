import Foundation
import VectisContracts

/// One setting a PSA connection needs, described well enough for a form to ask for it (the console's Enable
/// form is built from these) and for the API to say what is missing. One table per PSA, so the form, the
/// template listing and the 400 for a missing setting can never disagree.
public struct PSAField: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case text, url, number, secret }

    /// The key in the rule's `settings` (or `secrets` when `kind` is `secret`).
    public var name: String
    public var label: String
    public var kind: Kind
    public var required: Bool
    /// What the PSA uses when the field is left empty.
    public var defaultValue: String?
    /// Where to find the value, or an example.
    public var help: String?
    /// The value is one of the PSA tenant's own ids (a board, queue, status…): `POST /v1/psa-picklists` lists them.
    public var picklist: Bool

    public init(
        _ name: String, _ label: String, _ kind: Kind = .text, required: Bool = false, default defaultValue: String? = nil,
        help: String? = nil, picklist: Bool = false
    ) {
        (self.name, self.label, self.kind, self.required, self.defaultValue, self.help, self.picklist) =
            (name, label, kind, required, defaultValue, help, picklist)
    }

    /// The required fields that reach the PSA at all: what loading its pick lists needs.
    public static func connectionFields(for psa: PSAKind) -> [PSAField] {
        fields(for: psa).filter { $0.required && !$0.picklist }
    }

    /// How the CLI and the template listing name it: "privateKey (secret)", "codebase (default v4_6_release/)".
    public var summary: String {
        if kind == .secret { return "\(name) (secret)" }
        if let defaultValue { return "\(name) (default \(defaultValue))" }
        return required ? name : "\(name) (optional)"
    }

    public static func fields(for psa: PSAKind) -> [PSAField] {
        switch psa {
        case .connectwise:
            [
                PSAField("site", "Site (API address)", .url, required: true, help: "e.g. https://api-na.myconnectwise.net"),
                PSAField("codebase", "Codebase", default: "v4_6_release/"),
                PSAField("companyId", "Company id (the one you sign in with)", required: true),
                PSAField("publicKey", "Public key", required: true, help: "An API member's key pair: System → Members → API Members"),
                PSAField("privateKey", "Private key", .secret, required: true),
                PSAField("clientId", "Client id", .secret, required: true, help: "From developer.connectwise.com → Client IDs"),
                PSAField("boardId", "Service board", .number, required: true, picklist: true),
                PSAField("statusId", "Status for new tickets", .number, help: "A status of the chosen board", picklist: true),
                PSAField("priorityId", "Priority (servers)", .number, picklist: true),
                PSAField(
                    "workstationPriorityId", "Priority for workstations", .number, help: "Default: one step below the priority above",
                    picklist: true),
                PSAField("sharePriorityId", "Priority for shares", .number, help: "Default: the priority above", picklist: true),
                PSAField(
                    "closedStatusId", "Closed status", .number, help: "Used when the rule closes a ticket on recovery", picklist: true),
                PSAField(
                    "reopenStatusId", "Reopen status", .number,
                    help: "Set when the rule reopens a ticket; default: the status for new tickets", picklist: true)
            ]
        case .autotask:
            [
                PSAField("username", "API user", required: true, help: "The API-only user's username; its zone is found from it"),
                PSAField("secret", "Secret", .secret, required: true),
                PSAField("integrationCode", "Integration code (tracking identifier)", .secret, required: true),
                PSAField("queueId", "Queue", .number, required: true, picklist: true),
                PSAField("statusId", "Status for new tickets", .number, picklist: true),
                PSAField("priorityId", "Priority (servers)", .number, picklist: true),
                PSAField(
                    "workstationPriorityId", "Priority for workstations", .number, help: "Default: one step below the priority above",
                    picklist: true),
                PSAField("sharePriorityId", "Priority for shares", .number, help: "Default: the priority above", picklist: true),
                PSAField("completeStatusId", "Complete status", .number, default: "5", picklist: true),
                PSAField(
                    "reopenStatusId", "Reopen status", .number, default: "1", help: "Set when the rule reopens a ticket", picklist: true),
                PSAField("zoneLookupURL", "Zone lookup address", .url, help: "Only to override Autotask's zone lookup")
            ]
        case .halopsa:
            [
                PSAField("instanceURL", "Instance address", .url, required: true, help: "e.g. https://yourcompany.halopsa.com"),
                PSAField(
                    "clientId", "Client id", required: true,
                    help: "Configuration → Integrations → HaloPSA API → an application using client credentials"),
                PSAField("clientSecret", "Client secret", .secret, required: true),
                PSAField("tenant", "Tenant", help: "Hosted instances only"),
                PSAField(
                    "ticketTypeId", "Ticket type", .number, required: true,
                    help: "A simple incident type: types that need approval refuse API tickets", picklist: true),
                PSAField("priorityId", "Priority (servers)", .number, help: "Leave empty when the ticket type has no SLA", picklist: true),
                PSAField(
                    "workstationPriorityId", "Priority for workstations", .number, help: "Default: one step below the priority above",
                    picklist: true),
                PSAField("sharePriorityId", "Priority for shares", .number, help: "Default: the priority above", picklist: true),
                PSAField("impact", "Impact (servers and shares)", .number, help: "HaloPSA's impact value, e.g. 1 (high)"),
                PSAField("urgency", "Urgency (servers and shares)", .number, help: "HaloPSA's urgency value, e.g. 1 (high)"),
                PSAField("workstationImpact", "Impact (workstations)", .number),
                PSAField("workstationUrgency", "Urgency (workstations)", .number),
                PSAField("noteOutcomeId", "Note outcome", .number, default: "7", picklist: true),
                PSAField("closedStatusId", "Closed status", .number, default: "9", picklist: true),
                PSAField(
                    "reopenStatusId", "Reopen status", .number, default: "1", help: "Set when the rule reopens a ticket", picklist: true)
            ]
        }
    }
}
