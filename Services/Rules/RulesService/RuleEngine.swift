import Foundation
import GRDB
import VectisContracts
import VectisDelivery

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
        let customerId = StableID.customer(tenant: tenant, key: problem.customer.key)
        let rules = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM rule WHERE tenant = ? AND enabled AND trigger = ?"),
            arguments: [tenant, problem.trigger.rawValue])
        for rule in rules {
            let ruleId: Int64 = rule["id"]
            let key = dedupeKey(tenant: tenant, customerId: customerId, agentId: problem.subjectId, ruleId: ruleId)
            let dryRun = now.timeIntervalSince1970 < (rule["dry_run_until"] as Double)
            let action: String = rule["action"]
            let psa: String = rule["psa"]
            let live = try Row.fetchOne(
                // Literal states: SQLite uses the partial index `ticket_one_live` only for a WHERE that repeats its terms.
                db.cachedStatement(sql: "SELECT * FROM ticket WHERE rule_id = ? AND dedupe_key = ? AND state IN ('opening', 'open')"),
                arguments: [ruleId, key])
            func fired(_ kind: RuleFired.Action, detail: String? = nil) throws {
                try outbox.append(
                    RuleFired(
                        ruleId: "ru_\(ruleId)", ruleName: rule["name"], templateId: rule["template_id"], action: kind,
                        subject: problem.subject, failedNightsInARow: problem.failedNightsInARow, dryRun: dryRun, detail: detail),
                    tenant: tenant, customerKey: problem.customer.key, in: db)
            }
            func decide(_ kind: String, _ detail: String) throws -> Bool {
                // One decision per problem per night (or day), however often it is re-evaluated.
                let line = "\(detail) (\(problem.token))"
                guard try !Audit.exists(rule: ruleId, subject: key, kind: kind, detail: line, db: db) else { return false }
                try Audit.record(rule: ruleId, subject: key, kind: kind, detail: line, dryRun: dryRun, db: db)
                return true
            }

            switch problem.phase {
            case .on where problem.count >= (rule["threshold_nights"] as Int):
                if action != "ticket", let retryId = problem.retryId, let volume = problem.subject.agentVolume,
                    try decide(dryRun ? "would-retry" : "retry-requested", "retry \(problem.name) on \(problem.deviceSerial)")
                {
                    let retries =
                        try Int.fetchOne(
                            db.cachedStatement(
                                sql: "SELECT COUNT(*) FROM audit WHERE rule_id = ? AND subject = ? AND kind = 'retry-requested'"),
                            arguments: [ruleId, key]) ?? 0
                    if !dryRun && retries <= (rule["max_retries"] as Int) {
                        try outbox.append(
                            BackupRetryRequested(
                                retryId: "rt_\(ruleId)_\(retryId)", deviceSerial: problem.deviceSerial, agentVolume: volume,
                                reason: problem.retryReason, requestedBy: "ru_\(ruleId)"),
                            tenant: tenant, customerKey: problem.customer.key, in: db)
                        try fired(.retry)
                    }
                }
                guard action != "retry" else { continue }
                if let live {
                    guard (live["last_noted_night"] as String) != problem.token else { continue }
                    guard try decide(dryRun ? "would-add-note" : "add-note", "note on ticket for \(problem.name)"), !dryRun else {
                        continue
                    }
                    try db.cachedStatement(sql: "UPDATE ticket SET last_noted_night = ?, recovered_at = NULL WHERE id = ?")
                        .execute(arguments: [problem.token, live["id"] as Int64])
                    try queue(ticket: live["id"], kind: .note, text: problem.stillText, now: now, db: db)
                    try fired(.noteTicket)
                    continue
                }
                guard
                    let company = try String.fetchOne(
                        db.cachedStatement(sql: "SELECT company_id FROM psa_mapping WHERE psa = ? AND customer_id = ?"),
                        arguments: [psa, customerId])
                else {
                    // Never a ticket in some default company; say so where people look (the alert).
                    let detail = "\(problem.customer.name) (\(customerId)) has no \(psa) company mapping; no ticket opened"
                    if try decide("not-mapped", detail) {
                        try fired(.notMapped, detail: "No \(psa) company is mapped for \(problem.customer.name): no ticket was opened.")
                    }
                    continue
                }
                guard try decide(dryRun ? "would-open-ticket" : "open-ticket", "ticket for \(problem.name) in \(psa) company \(company)"),
                    !dryRun
                else { continue }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO ticket (rule_id, dedupe_key, tenant, customer_id, customer_name, agent_id, agent_name, device_serial,
                            company_id, state, opened_night, last_noted_night, created_at, summary)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                )
                .execute(arguments: [
                    ruleId, key, tenant, customerId, problem.customer.name, problem.subjectId, problem.name,
                    problem.deviceSerial, company, TicketState.opening, problem.token, problem.token, now.timeIntervalSince1970,
                    problem.summary
                ])
                let ticketId = db.lastInsertedRowID
                try queue(ticket: ticketId, kind: .open, text: problem.details + "\nOpened by Vectis rule ru_\(ruleId).", now: now, db: db)
                try fired(.openTicket)
            case .recovered(let note), .ended(let note):
                guard action != "retry", let live, (live["recovered_at"] as Double?) == nil else { continue }
                var close = rule["close_on_recovery"] as Bool
                if case .ended = problem.phase { close = false }
                guard try decide(dryRun ? "would-note-recovery" : "note-recovery", "recovery of \(problem.name)"), !dryRun else { continue }
                try db.cachedStatement(sql: "UPDATE ticket SET recovered_at = ? WHERE id = ?")
                    .execute(arguments: [now.timeIntervalSince1970, live["id"] as Int64])
                try queue(ticket: live["id"], kind: .note, text: note, now: now, db: db)
                if close {
                    try queue(ticket: live["id"], kind: .close, text: problem.closeText, now: now, db: db)
                    try fired(.closeTicket)
                } else {
                    try fired(.noteTicket)
                }
            default:
                continue
            }
        }
    }

    static func queue(ticket: Int64, kind: PSAActionKind, text: String, now: Date, db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT INTO psa_action (ticket_id, kind, text, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        )
        .execute(arguments: [ticket, kind, text, PSAActionState.pending, now.timeIntervalSince1970, now.timeIntervalSince1970])
    }
}
