import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// Decides, inside the consumer's transaction, what each rule does about a recorded run. PSA calls are not made
/// here: an `open`/`note`/`close` action is queued (the Titanic pattern) and the ticket worker carries it out,
/// so a crash between deciding and calling loses nothing and repeats nothing.
enum RuleEngine {
    static func dedupeKey(tenant: String, customerId: String, agentId: String, ruleId: Int64) -> String {
        "vectis:\(tenant):\(customerId):\(agentId):ru_\(ruleId)"
    }

    static func evaluate(_ job: BackupJobRecorded, tenant: String, now: Date, db: Database, outbox: Outbox) throws {
        let customerId = StableID.customer(tenant: tenant, key: job.customer.key)
        let agentId = StableID.agent(tenant: tenant, deviceSerial: job.deviceSerial, volume: job.agentVolume)
        let subject = AlertSubject(customer: job.customer, deviceSerial: job.deviceSerial, agentVolume: job.agentVolume, agentName: job.agentName)
        for rule in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM rule WHERE tenant = ? AND enabled"), arguments: [tenant]) {
            let ruleId: Int64 = rule["id"]
            let key = dedupeKey(tenant: tenant, customerId: customerId, agentId: agentId, ruleId: ruleId)
            let dryRun = now.timeIntervalSince1970 < (rule["dry_run_until"] as Double)
            let action: String = rule["action"]
            let psa: String = rule["psa"]
            let live = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM ticket WHERE rule_id = ? AND dedupe_key = ? AND state IN ('opening', 'open')"),
                arguments: [ruleId, key])
            func fired(_ kind: RuleFired.Action, detail: String? = nil) throws {
                try outbox.append(
                    RuleFired(ruleId: "ru_\(ruleId)", ruleName: rule["name"], templateId: rule["template_id"], action: kind, subject: subject,
                              failedNightsInARow: job.failedNightsInARow, dryRun: dryRun, detail: detail),
                    tenant: tenant, customerKey: job.customer.key, in: db)
            }
            func decide(_ kind: String, _ detail: String) throws -> Bool {
                // One decision per problem per night, however often the night's runs are re-evaluated.
                let line = "\(detail) (night \(job.night))"
                guard try !Audit.exists(rule: ruleId, subject: key, kind: kind, detail: line, db: db) else { return false }
                try Audit.record(rule: ruleId, subject: key, kind: kind, detail: line, dryRun: dryRun, db: db)
                return true
            }

            let failing = job.status == .failure && (job.currentlyFailing ?? true)
            if failing && job.failedNightsInARow >= (rule["threshold_nights"] as Int) {
                if action != "ticket", try decide(dryRun ? "would-retry" : "retry-requested", "retry \(job.agentName) on \(job.deviceSerial)") {
                    let retries = try Int.fetchOne(
                        db.cachedStatement(sql: "SELECT COUNT(*) FROM audit WHERE rule_id = ? AND subject = ? AND kind = 'retry-requested'"),
                        arguments: [ruleId, key]) ?? 0
                    if !dryRun && retries <= (rule["max_retries"] as Int) {
                        try outbox.append(
                            BackupRetryRequested(retryId: "rt_\(ruleId)_\(job.jobId)", deviceSerial: job.deviceSerial,
                                                 agentVolume: job.agentVolume,
                                                 reason: "\(job.failedNightsInARow) failed nights in a row", requestedBy: "ru_\(ruleId)"),
                            tenant: tenant, customerKey: job.customer.key, in: db)
                        try fired(.retry)
                    }
                }
                guard action != "retry" else { continue }
                if let live {
                    guard (live["last_noted_night"] as String) != job.night else { continue }
                    let text = "Backup of \(job.agentName) still failing: \(job.failedNightsInARow) nights in a row (night \(job.night)). "
                        + "Last error: \(job.errorMessage ?? "none reported")."
                    guard try decide(dryRun ? "would-add-note" : "add-note", "note on ticket for \(job.agentName)"), !dryRun else { continue }
                    try db.cachedStatement(sql: "UPDATE ticket SET last_noted_night = ?, recovered_at = NULL WHERE id = ?")
                        .execute(arguments: [job.night, live["id"] as Int64])
                    try queue(ticket: live["id"], kind: "note", text: text, now: now, db: db)
                    try fired(.noteTicket)
                    continue
                }
                guard let company = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT company_id FROM psa_mapping WHERE psa = ? AND customer_id = ?"), arguments: [psa, customerId])
                else {
                    // Never a ticket in some default company; say so where people look (the alert).
                    let detail = "\(job.customer.name) (\(customerId)) has no \(psa) company mapping; no ticket opened"
                    if try decide("not-mapped", detail) { try fired(.notMapped, detail: "No \(psa) company is mapped for \(job.customer.name): no ticket was opened.") }
                    continue
                }
                guard try decide(dryRun ? "would-open-ticket" : "open-ticket", "ticket for \(job.agentName) in \(psa) company \(company)"),
                    !dryRun
                else { continue }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO ticket (rule_id, dedupe_key, tenant, customer_id, customer_name, agent_id, agent_name, device_serial,
                            company_id, state, opened_night, last_noted_night, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'opening', ?, ?, ?)
                        """)
                    .execute(arguments: [ruleId, key, tenant, customerId, job.customer.name, agentId, job.agentName, job.deviceSerial, company,
                                job.night, job.night, now.timeIntervalSince1970])
                let ticketId = db.lastInsertedRowID
                let details = """
                    Datto backups of \(job.agentName) on appliance \(job.deviceSerial) (\(job.customer.name)) have failed \
                    \(job.failedNightsInARow) nights in a row.
                    Last failure: \(BusJSON.formatTimestamp(job.runAt)) — \(job.errorMessage ?? "no error message from Datto").
                    Last success: \(job.lastSuccessAt.map(BusJSON.formatTimestamp) ?? "none recorded").
                    Opened by Vectis rule ru_\(ruleId).
                    """
                try queue(ticket: ticketId, kind: "open", text: details, now: now, db: db)
                try fired(.openTicket)
            } else if job.status == .success, job.currentlyFailing == false, let live, (live["recovered_at"] as Double?) == nil {
                guard action != "retry" else { continue }
                let close = rule["close_on_recovery"] as Bool
                guard try decide(dryRun ? "would-note-recovery" : "note-recovery", "recovery of \(job.agentName)"), !dryRun else { continue }
                try db.cachedStatement(sql: "UPDATE ticket SET recovered_at = ? WHERE id = ?")
                    .execute(arguments: [now.timeIntervalSince1970, live["id"] as Int64])
                try queue(ticket: live["id"], kind: "note",
                          text: "Backups of \(job.agentName) recovered: successful run at \(BusJSON.formatTimestamp(job.runAt)).",
                          now: now, db: db)
                if close {
                    try queue(ticket: live["id"], kind: "close", text: "Closed by Vectis: backups recovered.", now: now, db: db)
                    try fired(.closeTicket)
                } else {
                    try fired(.noteTicket)
                }
            }
        }
    }

    static func queue(ticket: Int64, kind: String, text: String, now: Date, db: Database) throws {
        try db.cachedStatement(
            sql: "INSERT INTO psa_action (ticket_id, kind, text, state, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?)")
            .execute(arguments: [ticket, kind, text, now.timeIntervalSince1970, now.timeIntervalSince1970])
    }
}
