import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisDelivery

/// A ticket's life beyond opening and noting — read back from the PSA, closed by a person, reopened, replaced —
/// written in the caller's transaction. docs/rules.md draws it as a state diagram.
enum TicketLifecycle {
    /// What the PSA answered when the ticket was read back.
    static func recordReading(_ id: Int64, _ reading: PSATicketReading, at now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET psa_state = ?, psa_status = ?, checked_at = ? WHERE id = ?")
            .execute(arguments: [reading.state, reading.statusName, now.timeIntervalSince1970, id])
    }

    /// The PSA says a person closed, merged or deleted it: no longer live, and its waiting actions are dropped (a
    /// note on a closed ticket is one nobody reads). Returns the ticket as it now stands.
    @discardableResult
    static func closedByPerson(_ ticket: TicketRecord, _ reading: PSATicketReading, at now: Date, _ db: Database) throws -> TicketRecord {
        try recordReading(ticket.id, reading, at: now, db)
        try db.cachedStatement(sql: "UPDATE ticket SET state = ?, closed_by = ?, closed_at = ? WHERE id = ?")
            .execute(arguments: [TicketState.closed, TicketView.Closer.person, now.timeIntervalSince1970, ticket.id])
        try PSAActionQueue.dropWaiting(ticket: ticket.id, reason: "the ticket is \(reading.state.rawValue) in the PSA", now: now, db)
        var closed = ticket
        (closed.state, closed.closedBy, closed.closedAt, closed.psaState, closed.psaStatus, closed.checkedAt) =
            (.closed, .person, now, reading.state, reading.statusName, now)
        return closed
    }

    /// Live again for a new failure: the PSA gets the reopen status, then the note.
    static func reopen(_ ticket: TicketRecord, note: String, night: String, at now: Date, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                UPDATE ticket SET state = ?, closed_at = NULL, closed_by = NULL, recovered_at = NULL, reopens = reopens + 1,
                    last_noted_night = ? WHERE id = ?
                """
        ).execute(arguments: [TicketState.open, night, ticket.id])
        try PSAActionQueue.enqueue(ticket: ticket.id, kind: .reopen, text: "reopen ticket \(ticket.externalId ?? "")", now: now, db)
        try PSAActionQueue.enqueue(ticket: ticket.id, kind: .note, text: note, now: now, db)
    }

    /// A new ticket for the same problem, in the same company, naming the one it replaces; returns its id.
    static func replace(
        _ old: TicketRecord, summary: String, details: String, night: String, psa: PSAKind, at now: Date, _ db: Database
    ) throws -> Int64 {
        let id = try TicketRecord.insertOpening(
            rule: old.ruleId, dedupeKey: old.dedupeKey, tenant: old.tenant, customerId: old.customerId, customerName: old.customerName,
            subjectId: old.agentId, subjectName: old.agentName, deviceSerial: old.deviceSerial, companyId: old.companyId, night: night,
            summary: summary, replaces: old.id, agentClass: old.agentClass, at: now, db)
        try PSAActionQueue.enqueue(
            ticket: id, kind: .open, text: details + "\n" + replacement(of: old, psa: psa) + "\nOpened by Vectis rule ru_\(old.ruleId).",
            now: now, db)
        return id
    }

    /// The sentence a new ticket's details carry about the problem's earlier ticket.
    static func replacement(of old: TicketRecord, psa: PSAKind) -> String {
        let earlier = "ticket \(old.externalId ?? "#\(old.id)")"
        let day = old.closedAt.map { " on " + BusJSON.formatTimestamp($0).prefix(10) } ?? ""
        switch (old.psaState, old.closedBy) {
        case (.deleted?, _): return "It replaces \(earlier), which was deleted in \(psa.displayName)."
        case (.merged?, _): return "It replaces \(earlier), which was merged into another ticket in \(psa.displayName)."
        case (_, .person?):
            return old.recoveredAt == nil
                ? "It replaces \(earlier), which a person closed\(day) while the problem went on."
                : "The same problem had \(earlier), closed\(day) after it ended."
        default: return "The same problem had \(earlier), closed by Vectis\(day) when it ended."
        }
    }

    /// Tells the alert feed what a person's close means: resolved when the problem was already over, else a remark
    /// saying what the rule does.
    static func announcePersonClose(
        _ ticket: TicketRecord, rule: RuleRecord, detail: String, outbox: Outbox, _ db: Database
    ) throws {
        let over = ticket.recoveredAt != nil
        let subject = AlertSubject(
            customer: CustomerRef(key: ticket.customerId, name: ticket.customerName), deviceSerial: ticket.deviceSerial,
            agentName: ticket.agentName)
        try outbox.append(
            RuleFired(
                ruleId: "ru_\(rule.id)", ruleName: rule.name, templateId: rule.templateId,
                action: over ? .resolvedByPerson : .closedByPerson,
                subject: subject, detail: detail, alertType: rule.trigger.alertType, subjectId: ticket.agentId),
            tenant: rule.tenant, in: db)
    }

    /// The worker found the ticket closed, merged or deleted in the PSA instead of carrying out `job`. While the
    /// problem goes on (a failing night's note or a reopen), the rule's `whenClosedByPerson` is applied at once —
    /// at most once a night, so a PSA that refuses to reopen cannot make a loop of it; after a recovery, the alert is
    /// resolved `ticket-closed`.
    static func personClosed(_ job: PSAJob, reading: PSATicketReading, at now: Date, outbox: Outbox, _ db: Database) throws {
        let ticket = job.ticket
        let external = ticket.externalId ?? "#\(ticket.id)"
        let what = describe(reading, psa: job.rule.psa)
        let closed = try closedByPerson(ticket, reading, at: now, db)
        try Audit.record(
            rule: ticket.ruleId, subject: ticket.dedupeKey, kind: "ticket-closed-by-person",
            detail: "ticket \(external) was \(what); \(job.kind.rawValue) not carried out", db: db)
        guard let rule = try RuleRecord.find(id: ticket.ruleId, db) else { return }
        let stillFailing = ticket.recoveredAt == nil && (job.kind == .note || job.kind == .reopen)
        guard stillFailing else {
            try announcePersonClose(closed, rule: rule, detail: "Ticket \(external) was \(what).", outbox: outbox, db)
            return
        }
        let night = ticket.lastNotedNight
        // Once a night: a PSA that refuses the reopen cannot turn this into a loop (the next failed night tries again).
        let acted = "acted on the close of ticket \(external) (\(night))"
        guard try !Audit.exists(rule: rule.id, subject: ticket.dedupeKey, kind: "person-close-acted-on", detail: acted, db: db) else {
            return
        }
        try Audit.record(rule: rule.id, subject: ticket.dedupeKey, kind: "person-close-acted-on", detail: acted, db: db)
        let step = RulePlan.afterClose(rule.policy, ticket: closed, now: now)
        try Audit.record(
            rule: rule.id, subject: ticket.dedupeKey, kind: "when-closed-by-person",
            detail: "the problem goes on: \(consequence(step, policy: rule.policy))", db: db)
        let still = "Still failing: " + NoteMarker.strip(job.action.text)
        switch step {
        case .reopen:
            try reopen(
                closed, note: still + " Reopened by Vectis: the ticket was closed while the problem went on.", night: night, at: now, db)
        case .open:
            let summary = ticket.summary ?? "Datto backup failing: \(ticket.agentName)"
            _ = try replace(closed, summary: summary, details: still, night: night, psa: job.rule.psa, at: now, db)
        case .leave:
            try Audit.record(
                rule: rule.id, subject: ticket.dedupeKey, kind: "left-closed",
                detail: "ticket \(external) was \(what); the rule leaves it closed (whenClosedByPerson leave) (\(night))", db: db)
        case .note:
            break
        }
        try announcePersonClose(
            closed, rule: rule,
            detail: "Ticket \(external) was \(what) while the problem goes on: \(consequence(step, policy: rule.policy)).",
            outbox: outbox, db)
    }

    /// In words: what a person did to the ticket, as the PSA answered ("closed by a person in ConnectWise (status
    /// Closed)", "deleted in Autotask", "merged into another ticket in ConnectWise").
    static func describe(_ reading: PSATicketReading, psa: PSAKind) -> String {
        switch reading.state {
        case .deleted: "deleted in \(psa.displayName)"
        case .merged: "merged into another ticket in \(psa.displayName)"
        case .closed, .open: "closed by a person in \(psa.displayName)" + (reading.statusName.map { " (status \($0))" } ?? "")
        }
    }

    /// In words: what the rule does about a person's close while the problem goes on.
    static func consequence(_ step: RulePlan.TicketStep, policy: RulePlan.Policy) -> String {
        switch step {
        case .reopen: "the rule reopens it (within \(policy.reopenWindowDays) days of the close)"
        case .open: "the rule opens a new ticket"
        case .leave: "the rule leaves it closed"
        case .note: "the rule notes it"
        }
    }
}

extension PSAKind {
    var displayName: String {
        switch self {
        case .connectwise: "ConnectWise"
        case .autotask: "Autotask"
        case .halopsa: "HaloPSA"
        }
    }
}

extension RuleRecord {
    var policy: RulePlan.Policy {
        RulePlan.Policy(
            action: action, threshold: thresholdNights, closeOnRecovery: closeOnRecovery, whenClosedByPerson: whenClosedByPerson,
            reopenWindowDays: reopenWindowDays)
    }
}
