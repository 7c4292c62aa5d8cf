import Foundation

/// The PSA a rule tickets into.
public enum PSAKind: String, Codable, Sendable, CaseIterable { case connectwise, autotask, halopsa }

/// A rule decided to act.
public struct RuleFired: BusEvent, Equatable {
    public static let topic = "rule.fired"

    public enum Action: String, Codable, Sendable {
        case openTicket = "open-ticket"
        case noteTicket = "note-ticket"
        case closeTicket = "close-ticket"
        case retry
        /// The threshold was reached but the customer has no company in the rule's PSA: nothing was opened.
        case notMapped = "not-mapped"
        /// A ticket Vectis closed (or a person closed) is reopened for a new failure of the same problem.
        case reopenTicket = "reopen-ticket"
        /// A person closed (deleted, merged) the rule's ticket in the PSA while the problem goes on; `detail` says
        /// what the rule does about it.
        case closedByPerson = "closed-by-person"
        /// A person closed the rule's ticket once Vectis saw the problem end: the alert is resolved `ticket-closed`.
        case resolvedByPerson = "resolved-by-person"
    }

    public var ruleId: String
    public var ruleName: String
    public var templateId: String
    public var action: Action
    public var subject: AlertSubject
    public var alertId: String?
    public var failedNightsInARow: Int?
    public var dryRun: Bool
    /// What a person should know, e.g. why no ticket was opened.
    public var detail: String?
    /// The type of the alert this is about (`backup-job-failure`, `backup-missed`, …), where it matters.
    public var alertType: String?
    /// The agent (`a_…`) or appliance (`d_…`) the alert is about, where it matters.
    public var subjectId: String?

    public init(
        ruleId: String, ruleName: String, templateId: String, action: Action, subject: AlertSubject,
        alertId: String? = nil, failedNightsInARow: Int? = nil, dryRun: Bool = false, detail: String? = nil, alertType: String? = nil,
        subjectId: String? = nil
    ) {
        self.alertType = alertType
        self.subjectId = subjectId
        self.detail = detail
        self.ruleId = ruleId
        self.ruleName = ruleName
        self.templateId = templateId
        self.action = action
        self.subject = subject
        self.alertId = alertId
        self.failedNightsInARow = failedNightsInARow
        self.dryRun = dryRun
    }
}

/// Fields every ticket event shares.
public struct TicketRef: Codable, Sendable, Equatable {
    /// Stable per problem (no dates or counts): one ticket per failing agent per rule.
    public var dedupeKey: String
    public var psa: PSAKind
    /// The PSA's own ticket id.
    public var externalId: String
    public var ruleId: String
    public var subject: AlertSubject

    public init(dedupeKey: String, psa: PSAKind, externalId: String, ruleId: String, subject: AlertSubject) {
        self.dedupeKey = dedupeKey
        self.psa = psa
        self.externalId = externalId
        self.ruleId = ruleId
        self.subject = subject
    }
}

public struct TicketOpened: BusEvent, Equatable {
    public static let topic = "ticket.opened"
    public var ticket: TicketRef
    public var summary: String
    public init(ticket: TicketRef, summary: String) {
        self.ticket = ticket
        self.summary = summary
    }
}

public struct TicketNoted: BusEvent, Equatable {
    public static let topic = "ticket.noted"
    public var ticket: TicketRef
    public var note: String
    public init(ticket: TicketRef, note: String) {
        self.ticket = ticket
        self.note = note
    }
}

public struct TicketClosed: BusEvent, Equatable {
    public static let topic = "ticket.closed"
    public var ticket: TicketRef
    public var note: String
    public init(ticket: TicketRef, note: String) {
        self.ticket = ticket
        self.note = note
    }
}
