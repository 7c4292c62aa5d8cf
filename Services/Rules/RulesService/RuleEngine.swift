import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisDelivery

/// Decides, inside the consumer's transaction, what each rule does about a problem. PSA calls are not made
/// here: an `open`/`note`/`close` action is queued (the Titanic pattern) and the ticket worker carries it out,
/// so a crash between deciding and calling loses nothing and repeats nothing.
enum RuleEngine {
    static func dedupeKey(tenant: String, customerId: String, agentId: String, ruleId: Int64) -> String {
        "vectis:\(tenant):\(customerId):\(agentId):ru_\(ruleId)"
    }

    static func evaluate(
        _ job: BackupJobRecorded, tenant: String, now: Date, console: String, rules: EnabledRules, db: Database, outbox: Outbox
    ) throws {
        try evaluate(RuleProblem(job, tenant: tenant), tenant: tenant, now: now, console: console, rules: rules, db: db, outbox: outbox)
    }

    static func evaluate(
        _ condition: BackupConditionChanged, tenant: String, now: Date, console: String, rules: EnabledRules, db: Database,
        outbox: Outbox
    ) throws {
        try evaluate(
            RuleProblem(condition, tenant: tenant), tenant: tenant, now: now, console: console, rules: rules, db: db, outbox: outbox)
    }

    /// `console`: the console's address, for the links in notifications.
    static func evaluate(
        _ problem: RuleProblem, tenant: String, now: Date, console: String, rules: EnabledRules, db: Database, outbox: Outbox
    ) throws {
        // The digest lists what is failing whatever the rules say.
        try OpenProblems.record(problem, tenant: tenant, now: now, db)
        for rule in try rules.rules(tenant: tenant, trigger: problem.trigger, db) {
            let decision = Decision(rule: rule, problem: problem, tenant: tenant, now: now, db: db, outbox: outbox)
            try decision.carryOut()
            if !rule.channelIds.isEmpty { try decision.notify(console: console) }
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
            let latest = try TicketRecord.latest(rule: rule.id, dedupeKey: key, db)
            switch RulePlan.make(rule.policy, problem: problem, latest: latest, now: now) {
            case .nothing:
                return
            case .act(let retry, let ticket):
                if retry { try requestRetry() }
                switch ticket {
                case nil: return
                case .note(let ticket): try note(ticket)
                case .open(let replacing): try open(replacing: replacing == latest?.id ? latest : nil)
                case .reopen: if let latest { try reopen(latest) }
                case .leave: if let latest { try leave(latest) }
                }
            case .recover(let ticket, let close):
                try recover(ticket, close: close)
            case .recoveredWhileClosed:
                if let latest { try recoveredWhileClosed(latest) }
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

        func open(replacing earlier: TicketRecord?) throws {
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
                night: problem.token, summary: problem.summary, replaces: earlier?.id,
                agentClass: problem.subject.agentVolume == nil ? nil : try AgentClassRecord.find(agentId: problem.subjectId, db) ?? .server,
                at: now, db)
            let history = earlier.map { "\n" + TicketLifecycle.replacement(of: $0, psa: rule.psa) } ?? ""
            try PSAActionQueue.enqueue(
                ticket: ticket, kind: .open, text: problem.details + history + "\nOpened by Vectis rule ru_\(rule.id).", now: now, db)
            try fired(.openTicket)
        }

        /// The problem's closed ticket, live again: the reopen status, then a note.
        func reopen(_ ticket: TicketRecord) throws {
            let external = ticket.externalId ?? "#\(ticket.id)"
            guard try decide(dryRun ? "would-reopen-ticket" : "reopen-ticket", "reopen ticket \(external) for \(problem.name)"), !dryRun
            else { return }
            let note =
                ticket.closedBy == .person && ticket.recoveredAt == nil
                ? "Still failing: \(problem.stillText) Reopened by Vectis: the ticket was closed while the problem went on."
                : "Failing again: \(problem.stillText) Reopened by Vectis within \(rule.reopenWindowDays) days of the recovery that closed it."
            try TicketLifecycle.reopen(ticket, note: note, night: problem.token, at: now, db)
            try fired(.reopenTicket)
        }

        /// A person closed it and the rule leaves it so: the history says so once a night, the PSA hears nothing.
        func leave(_ ticket: TicketRecord) throws {
            _ = try decide(
                "left-closed",
                "ticket \(ticket.externalId ?? "#\(ticket.id)") was closed by a person; the rule leaves it closed (whenClosedByPerson leave)"
            )
        }

        /// Over while a person has the ticket closed: remembered, nothing written; the alert is resolved `ticket-closed`.
        func recoveredWhileClosed(_ ticket: TicketRecord) throws {
            guard
                try decide(
                    "recovered-while-closed", "recovery of \(problem.name); ticket \(ticket.externalId ?? "") already closed by a person"),
                !dryRun
            else { return }
            try TicketRecord.markRecovered(ticket.id, at: now, db)
            var recovered = ticket
            recovered.recoveredAt = now
            try TicketLifecycle.announcePersonClose(
                recovered, rule: rule, detail: "The ticket was closed by a person and the problem is over.", outbox: outbox, db)
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
