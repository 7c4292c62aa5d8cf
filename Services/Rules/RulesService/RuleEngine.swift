import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisDelivery

/// What a rule does about a problem, before the once-per-night check and the company mapping: a pure decision,
/// unit-tested on its own.
enum RulePlan: Equatable {
    case nothing
    /// The threshold is reached: ask for a retry and/or open or note a ticket.
    case act(retry: Bool, ticket: TicketStep?)
    /// The problem is over: note it on the live ticket, and close it when the rule says so.
    case recover(ticket: Int64, close: Bool)

    enum TicketStep: Equatable {
        case open
        case note(ticket: Int64)
    }

    static func make(
        action: RuleAction, threshold: Int, closeOnRecovery: Bool, problem: RuleProblem, live: TicketRecord?
    ) -> RulePlan {
        switch problem.phase {
        case .on where problem.count >= threshold:
            let retry = action.retries && problem.retryId != nil && problem.subject.agentVolume != nil
            guard action.opensTickets else { return .act(retry: retry, ticket: nil) }
            guard let live else { return .act(retry: retry, ticket: .open) }
            // One note per night (or day) on a live ticket.
            return .act(retry: retry, ticket: live.lastNotedNight == problem.token ? nil : .note(ticket: live.id))
        case .recovered, .ended:
            guard action.opensTickets, let live, live.recoveredAt == nil else { return .nothing }
            if case .recovered = problem.phase { return .recover(ticket: live.id, close: closeOnRecovery) }
            return .recover(ticket: live.id, close: false)  // over for another reason: left for a person to decide
        case .on, .neither:
            return .nothing
        }
    }
}

/// Decides, inside the consumer's transaction, what each rule does about a problem. PSA calls are not made
/// here: an `open`/`note`/`close` action is queued (the Titanic pattern) and the ticket worker carries it out,
/// so a crash between deciding and calling loses nothing and repeats nothing.
enum RuleEngine {
    static func dedupeKey(tenant: String, customerId: String, agentId: String, ruleId: Int64) -> String {
        "vectis:\(tenant):\(customerId):\(agentId):ru_\(ruleId)"
    }

    static func evaluate(_ job: BackupJobRecorded, tenant: String, now: Date, db: Database, outbox: Outbox) throws {
        try evaluate(RuleProblem(job, tenant: tenant), tenant: tenant, now: now, db: db, outbox: outbox)
    }

    static func evaluate(_ condition: BackupConditionChanged, tenant: String, now: Date, db: Database, outbox: Outbox) throws {
        try evaluate(RuleProblem(condition, tenant: tenant), tenant: tenant, now: now, db: db, outbox: outbox)
    }

    static func evaluate(_ problem: RuleProblem, tenant: String, now: Date, db: Database, outbox: Outbox) throws {
        for rule in try RuleRecord.enabled(tenant: tenant, trigger: problem.trigger, db) {
            try Decision(rule: rule, problem: problem, tenant: tenant, now: now, db: db, outbox: outbox).carryOut()
        }
    }

    /// One rule's decision about one problem, carried out in the caller's transaction.
    struct Decision {
        let rule: RuleRecord
        let problem: RuleProblem
        let tenant: String
        let now: Date
        let db: Database
        let outbox: Outbox
        let customerId: String
        let key: String
        let dryRun: Bool

        init(rule: RuleRecord, problem: RuleProblem, tenant: String, now: Date, db: Database, outbox: Outbox) {
            (self.rule, self.problem, self.tenant, self.now, self.db, self.outbox) = (rule, problem, tenant, now, db, outbox)
            customerId = StableID.customer(tenant: tenant, key: problem.customer.key)
            key = RuleEngine.dedupeKey(tenant: tenant, customerId: customerId, agentId: problem.subjectId, ruleId: rule.id)
            dryRun = rule.isDryRun(at: now)
        }

        func carryOut() throws {
            let live = try TicketRecord.live(rule: rule.id, dedupeKey: key, db)
            switch RulePlan.make(
                action: rule.action, threshold: rule.thresholdNights, closeOnRecovery: rule.closeOnRecovery, problem: problem, live: live)
            {
            case .nothing:
                return
            case .act(let retry, let ticket):
                if retry { try requestRetry() }
                switch ticket {
                case nil: return
                case .note(let ticket): try note(ticket)
                case .open: try open()
                }
            case .recover(let ticket, let close):
                try recover(ticket, close: close)
            }
        }

        /// Records a decision once per problem and night (or day), however often it is re-evaluated; false when it
        /// was already taken.
        func decide(_ kind: String, _ detail: String) throws -> Bool {
            let line = "\(detail) (\(problem.token))"
            guard try !Audit.exists(rule: rule.id, subject: key, kind: kind, detail: line, db: db) else { return false }
            try Audit.record(rule: rule.id, subject: key, kind: kind, detail: line, dryRun: dryRun, db: db)
            return true
        }

        func fired(_ kind: RuleFired.Action, detail: String? = nil) throws {
            try outbox.append(
                RuleFired(
                    ruleId: "ru_\(rule.id)", ruleName: rule.name, templateId: rule.templateId, action: kind, subject: problem.subject,
                    failedNightsInARow: problem.failedNightsInARow, dryRun: dryRun, detail: detail),
                tenant: tenant, customerKey: problem.customer.key, in: db)
        }

        func requestRetry() throws {
            guard let retryId = problem.retryId, let volume = problem.subject.agentVolume,
                try decide(dryRun ? "would-retry" : "retry-requested", "retry \(problem.name) on \(problem.deviceSerial)"), !dryRun
            else { return }
            let retries = try Audit.count(rule: rule.id, subject: key, kind: "retry-requested", db: db)
            guard retries <= rule.maxRetries else { return }
            try outbox.append(
                BackupRetryRequested(
                    retryId: "rt_\(rule.id)_\(retryId)", deviceSerial: problem.deviceSerial, agentVolume: volume,
                    reason: problem.retryReason, requestedBy: "ru_\(rule.id)"),
                tenant: tenant, customerKey: problem.customer.key, in: db)
            try fired(.retry)
        }

        func note(_ ticket: Int64) throws {
            guard try decide(dryRun ? "would-add-note" : "add-note", "note on ticket for \(problem.name)"), !dryRun else { return }
            try TicketRecord.markNoted(ticket, night: problem.token, db)
            try PSAActionQueue.enqueue(ticket: ticket, kind: .note, text: problem.stillText, now: now, db)
            try fired(.noteTicket)
        }

        func open() throws {
            guard let company = try PSAMappingRecord.companyId(psa: rule.psa, customerId: customerId, db) else {
                // Never a ticket in some default company; say so where people look (the alert).
                let detail = "\(problem.customer.name) (\(customerId)) has no \(rule.psa.rawValue) company mapping; no ticket opened"
                if try decide("not-mapped", detail) {
                    try fired(
                        .notMapped, detail: "No \(rule.psa.rawValue) company is mapped for \(problem.customer.name): no ticket was opened.")
                }
                return
            }
            guard
                try decide(
                    dryRun ? "would-open-ticket" : "open-ticket", "ticket for \(problem.name) in \(rule.psa.rawValue) company \(company)"),
                !dryRun
            else { return }
            let ticket = try TicketRecord.insertOpening(
                rule: rule.id, dedupeKey: key, tenant: tenant, customerId: customerId, customerName: problem.customer.name,
                subjectId: problem.subjectId, subjectName: problem.name, deviceSerial: problem.deviceSerial, companyId: company,
                night: problem.token, summary: problem.summary, at: now, db)
            try PSAActionQueue.enqueue(
                ticket: ticket, kind: .open, text: problem.details + "\nOpened by Vectis rule ru_\(rule.id).", now: now, db)
            try fired(.openTicket)
        }

        func recover(_ ticket: Int64, close: Bool) throws {
            let note: String
            switch problem.phase {
            case .recovered(let text), .ended(let text): note = text
            case .on, .neither: return
            }
            guard try decide(dryRun ? "would-note-recovery" : "note-recovery", "recovery of \(problem.name)"), !dryRun else { return }
            try TicketRecord.markRecovered(ticket, at: now, db)
            try PSAActionQueue.enqueue(ticket: ticket, kind: .note, text: note, now: now, db)
            if close {
                try PSAActionQueue.enqueue(ticket: ticket, kind: .close, text: problem.closeText, now: now, db)
                try fired(.closeTicket)
            } else {
                try fired(.noteTicket)
            }
        }
    }
}
