import Foundation
import GRDB
import Hummingbird
import VectisContracts
import VectisRuntime
import VectisStorage

/// `/v1/rule-templates`, `/v1/rules`, `/v1/psa-mappings`, `/v1/tickets`.
struct RulesController {
    let database: DatabasePool
    let secrets: SecretBox
    let worker: TicketWorker
    let adminToken: String
    let readToken: String
    let defaultDryRun: Duration

    struct NewRule: Decodable {
        var templateId: String?
        var tenant: String?
        var name: String?
        var settings: PSASettings?
        var secrets: PSASecrets?
        var thresholdNights: Int?
        var closeOnRecovery: Bool?
        var action: String?
        var maxRetries: Int?
        var dryRunHours: Double?
    }

    struct RuleView: Encodable {
        var id: String
        var tenant: String
        var templateId: String
        var name: String
        var psa: String
        /// `failed-nights`, `backup-missed`, `device-offline` or `offsite-stale`.
        var trigger: String
        var settings: PSASettings
        /// Which secrets are set; never their values.
        var secretsSet: [String]
        /// Set when the sealed secrets cannot be opened (e.g. the key file was replaced): re-enter them.
        var secretsProblem: String?
        var thresholdNights: Int
        var closeOnRecovery: Bool
        var action: String
        var maxRetries: Int
        var dryRunUntil: Date
        var dryRun: Bool
        var enabled: Bool
    }

    func view(_ row: Row) throws -> RuleView {
        // One rule whose secrets cannot be opened must not hide the others: it is listed with the problem named.
        let opened = try? JSONDecoder().decode(PSASecrets.self, from: Data(try secrets.open(row["secrets_sealed"]).utf8))
        let sealed = opened ?? PSASecrets()
        let set = [
            ("privateKey", sealed.privateKey), ("clientId", sealed.clientId), ("secret", sealed.secret),
            ("integrationCode", sealed.integrationCode), ("clientSecret", sealed.clientSecret)
        ].filter { $0.1 != nil }.map(\.0)
        let until = Date(timeIntervalSince1970: row["dry_run_until"])
        return RuleView(
            id: "ru_\(row["id"] as Int64)", tenant: row["tenant"], templateId: row["template_id"], name: row["name"], psa: row["psa"],
            trigger: row["trigger"],
            settings: (try? JSONDecoder().decode(PSASettings.self, from: Data((row["settings"] as String).utf8))) ?? PSASettings(),
            secretsSet: set,
            secretsProblem: opened == nil ? RuleRecord.unreadableSecrets : nil,
            thresholdNights: row["threshold_nights"], closeOnRecovery: row["close_on_recovery"], action: row["action"],
            maxRetries: row["max_retries"], dryRunUntil: until, dryRun: until > Date(), enabled: row["enabled"])
    }

    /// Why a dry-run length is refused, or nil: a year at most (beyond that, disable the rule instead).
    static func dryRunProblem(_ hours: Double) -> String? {
        hours.isFinite && (0...8_760).contains(hours) ? nil : "dryRunHours must be from 0 to 8760 (a year); to stop a rule, disable it."
    }

    /// Why a rule's settings are refused (the same checks for enabling and for editing), or nil.
    static func settingsProblem(
        _ template: RuleTemplate, settings: PSASettings, secrets: PSASecrets, action: String, threshold: Int, maxRetries: Int
    ) -> String? {
        let missing = settings.missing(for: template.psa, secrets: secrets)
        guard missing.isEmpty else { return "Missing for \(template.psa.rawValue): \(missing.joined(separator: ", "))." }
        let invalid = settings.invalidAddresses(for: template.psa)
        guard invalid.isEmpty else { return invalid.joined(separator: "; ") + "." }
        guard ["ticket", "retry", "both"].contains(action) else { return "action must be ticket, retry or both." }
        guard template.actions.contains(action) else {
            return "action must be ticket for \(template.trigger.rawValue): there is no backup to retry."
        }
        guard (1...30).contains(threshold) else { return "thresholdNights must be from 1 to 30." }
        guard (0...10).contains(maxRetries) else { return "maxRetries must be from 0 to 10." }
        return nil
    }

    static func ruleId(_ text: String) -> Int64? { Int64(text.hasPrefix("ru_") ? String(text.dropFirst(3)) : text) }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("v1/rule-templates") { _, _ in try Response.json(["templates": RuleTemplate.all]) }
        let admin = router.group("v1").add(middleware: BearerTokenMiddleware(token: adminToken))
        // Rules, their history, mappings and tickets are readable with the read-only token too.
        let reader = router.group("v1").add(middleware: BearerTokenMiddleware(reading: AccessTokens(admin: adminToken, read: readToken)))
        admin.post("rules") { request, context in
            guard let body = try? await request.decode(as: NewRule.self, context: context) else {
                return Response.problem(.badRequest, "The body must be a JSON object.")
            }
            guard let template = RuleTemplate.all.first(where: { $0.id == body.templateId }) else {
                return Response.problem(.badRequest, "templateId must be one of \(RuleTemplate.all.map(\.id).joined(separator: ", ")).")
            }
            let settings = body.settings ?? PSASettings()
            let secretValues = body.secrets ?? PSASecrets()
            let action = body.action ?? "ticket"
            let threshold = body.thresholdNights ?? template.defaultThresholdNights
            let maxRetries = body.maxRetries ?? 2
            if let problem = Self.settingsProblem(
                template, settings: settings, secrets: secretValues, action: action, threshold: threshold, maxRetries: maxRetries)
            {
                return Response.problem(.badRequest, problem)
            }
            if let hours = body.dryRunHours, let problem = Self.dryRunProblem(hours) { return Response.problem(.badRequest, problem) }
            let dryRunSeconds = body.dryRunHours.map { $0 * 3_600 } ?? Double(defaultDryRun.components.seconds)
            let sealed = try secrets.seal(String(decoding: try JSONEncoder().encode(secretValues), as: UTF8.self))
            let row = try await database.write { db -> Row in
                let now = Date().timeIntervalSince1970
                try db.execute(
                    sql: """
                        INSERT INTO rule (tenant, template_id, name, psa, settings, secrets_sealed, threshold_nights, close_on_recovery,
                            action, max_retries, dry_run_until, enabled, created_at, trigger)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                        """,
                    arguments: [
                        body.tenant ?? "default", template.id, body.name ?? template.name, template.psa.rawValue,
                        String(decoding: try JSONEncoder().encode(settings), as: UTF8.self), sealed, threshold,
                        body.closeOnRecovery ?? false, action, maxRetries, now + dryRunSeconds, now, template.trigger.rawValue
                    ])
                let id = db.lastInsertedRowID
                try Audit.record(
                    rule: id, subject: nil, kind: "rule-created",
                    detail: "enabled \(template.name); dry run for \(Int(dryRunSeconds / 3_600)) h", db: db)
                return try Row.fetchOne(db, sql: "SELECT * FROM rule WHERE id = ?", arguments: [id])!
            }
            return try Response.json(try view(row), status: .created)
        }
        reader.get("rules") { _, _ in
            let rows = try await database.read { db in try Row.fetchAll(db, sql: "SELECT * FROM rule ORDER BY id") }
            return try Response.json(["rules": try rows.map(view)])
        }
        reader.get("rules/:id") { _, context in
            guard let id = Self.ruleId(try context.parameters.require("id")),
                let row = try await database.read({ db in try Row.fetchOne(db, sql: "SELECT * FROM rule WHERE id = ?", arguments: [id]) })
            else { return Response.problem(.notFound, "No such rule.") }
            return try Response.json(try view(row))
        }
        admin.patch("rules/:id") { request, context in
            guard let id = Self.ruleId(try context.parameters.require("id")) else { return Response.problem(.notFound, "No such rule.") }
            guard let change = try? await request.decode(as: RuleChange.self, context: context) else {
                return Response.problem(
                    .badRequest, "The body must be a JSON object: enabled, dryRunHours, or the rule's settings to change.")
            }
            if let hours = change.dryRunHours, let problem = Self.dryRunProblem(hours) { return Response.problem(.badRequest, problem) }
            enum Outcome {
                case noRule
                case refused(String)
                case saved(RuleView)
            }
            // Read, check and write in one transaction, so two edits at once cannot undo each other unseen.
            let outcome = try await database.write { [secrets] db -> Outcome in
                guard let current = try Row.fetchOne(db, sql: "SELECT * FROM rule WHERE id = ?", arguments: [id]) else { return .noRule }
                let edit: RuleEdit?
                switch try edited(current, change) {
                case .failure(let refusal): return .refused(refusal.message)
                case .success(let result): edit = result
                }
                if let edit {
                    try db.execute(
                        sql: """
                            UPDATE rule SET name = ?, settings = ?, secrets_sealed = ?, threshold_nights = ?, close_on_recovery = ?,
                                action = ?, max_retries = ? WHERE id = ?
                            """,
                        arguments: [
                            edit.name, String(decoding: try JSONEncoder().encode(edit.settings), as: UTF8.self),
                            try secrets.seal(String(decoding: try JSONEncoder().encode(edit.secrets), as: UTF8.self)),
                            edit.threshold, edit.closeOnRecovery, edit.action, edit.maxRetries, id
                        ])
                    if !edit.changes.isEmpty {
                        try Audit.record(rule: id, subject: nil, kind: "rule-changed", detail: edit.changes.joined(separator: "; "), db: db)
                    }
                }
                if let enabled = change.enabled {
                    try db.execute(sql: "UPDATE rule SET enabled = ? WHERE id = ?", arguments: [enabled, id])
                    try Audit.record(rule: id, subject: nil, kind: "rule-changed", detail: enabled ? "enabled" : "disabled", db: db)
                }
                if let hours = change.dryRunHours {
                    try db.execute(
                        sql: "UPDATE rule SET dry_run_until = ? WHERE id = ?", arguments: [Date().timeIntervalSince1970 + hours * 3_600, id]
                    )
                    try Audit.record(
                        rule: id, subject: nil, kind: "rule-changed", detail: hours == 0 ? "dry run ended: live" : "dry run for \(hours) h",
                        db: db)
                }
                return .saved(try view(try Row.fetchOne(db, sql: "SELECT * FROM rule WHERE id = ?", arguments: [id])!))
            }
            switch outcome {
            case .noRule: return Response.problem(.notFound, "No such rule.")
            case .refused(let message): return Response.problem(.badRequest, message)
            case .saved(let rule): return try Response.json(rule)
            }
        }
        reader.get("rules/:id/history") { _, context in
            struct Entry: Encodable {
                var at: Date
                var kind: String
                var detail: String
                var subject: String?
                var status: Int?
                var durationMs: Int?
                var dryRun: Bool
            }
            guard let id = Self.ruleId(try context.parameters.require("id")),
                try await database.read({ db in try Bool.fetchOne(db, sql: "SELECT 1 FROM rule WHERE id = ?", arguments: [id]) }) == true
            else { return Response.problem(.notFound, "No such rule.") }
            let entries = try await database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE rule_id = ? ORDER BY id DESC LIMIT 500", arguments: [id]).map {
                    Entry(
                        at: Date(timeIntervalSince1970: $0["at"]), kind: $0["kind"], detail: $0["detail"], subject: $0["subject"],
                        status: $0["status"], durationMs: $0["duration_ms"], dryRun: $0["dry_run"])
                }
            }
            return try Response.json(["history": entries])
        }
        admin.post("rules/:id/test-ticket") { request, context in
            struct Body: Decodable { var companyId: String }
            struct Outcome: Encodable {
                var ok: Bool
                var ticketId: String?
                var error: String?
            }
            guard let id = Self.ruleId(try context.parameters.require("id")),
                let rule = try await database.read({ [secrets] db in
                    try RuleRecord.load(id, db: db, secrets: secrets, tolerateUnreadableSecrets: true)
                })
            else { return Response.problem(.notFound, "No such rule.") }
            guard let body = try? await request.decode(as: Body.self, context: context), !body.companyId.isEmpty else {
                return Response.problem(.badRequest, "Give companyId: the PSA company to open the test ticket in.")
            }
            guard !rule.secretsUnreadable else { return try Response.json(Outcome(ok: false, error: RuleRecord.unreadableSecrets)) }
            switch try await worker.testTicket(rule: rule, companyId: body.companyId) {
            case .success(let ticket): return try Response.json(Outcome(ok: true, ticketId: ticket))
            // Like the Datto Test button: the check ran and this is its answer, so 200 either way (a 5xx would say
            // that Vectis failed, not the PSA).
            case .failure(let error): return try Response.json(Outcome(ok: false, error: error.description))
            }
        }
        admin.put("psa-mappings/:psa/:customer") { request, context in
            struct Body: Decodable { var companyId: String }
            let psa = try context.parameters.require("psa")
            guard PSAKind(rawValue: psa) != nil else {
                return Response.problem(.badRequest, "psa must be connectwise, autotask or halopsa.")
            }
            guard let body = try? await request.decode(as: Body.self, context: context), !body.companyId.isEmpty else {
                return Response.problem(.badRequest, "Give companyId: the PSA's own id for this customer.")
            }
            let customer = try context.parameters.require("customer")
            try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO psa_mapping (psa, customer_id, company_id, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (psa, customer_id) DO UPDATE SET company_id = excluded.company_id, updated_at = excluded.updated_at
                        """,
                    arguments: [psa, customer, body.companyId, Date().timeIntervalSince1970])
            }
            return try Response.json(["psa": psa, "customerId": customer, "companyId": body.companyId])
        }
        reader.get("psa-mappings") { request, _ in
            struct Mapping: Encodable {
                var psa: String
                var customerId: String
                var companyId: String
                var updatedAt: Date
            }
            let psa = request.uri.queryParameters.get("psa")
            if let psa, PSAKind(rawValue: psa) == nil {
                return Response.problem(.badRequest, "psa must be connectwise, autotask or halopsa.")
            }
            let mappings = try await database.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT * FROM psa_mapping WHERE ? IS NULL OR psa = ? ORDER BY psa, customer_id", arguments: [psa, psa]
                ).map {
                    Mapping(
                        psa: $0["psa"], customerId: $0["customer_id"], companyId: $0["company_id"],
                        updatedAt: Date(timeIntervalSince1970: $0["updated_at"]))
                }
            }
            return try Response.json(["mappings": mappings])
        }
        reader.get("tickets") { request, _ in
            struct TicketView: Encodable {
                var id: Int64
                var ruleId: String
                var psa: String
                var externalId: String?
                var state: String
                var customerId: String
                var customerName: String
                var agentName: String
                var companyId: String
                var notes: Int
                var openedNight: String
                var summary: String?
                var openedAt: Date
                var closedAt: Date?
            }
            // `?rule=ru_3`: one rule's tickets (the console's rule page).
            var rule: Int64?
            if let text = request.uri.queryParameters.get("rule") {
                guard let id = Self.ruleId(text) else { return Response.problem(.badRequest, "rule must be a rule id such as ru_1.") }
                rule = id
            }
            let tickets = try await database.read { [rule] db in
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT t.*, r.psa FROM ticket t JOIN rule r ON r.id = t.rule_id WHERE ? IS NULL OR t.rule_id = ? ORDER BY t.id DESC",
                    arguments: [rule, rule]
                ).map {
                    TicketView(
                        id: $0["id"], ruleId: "ru_\($0["rule_id"] as Int64)", psa: $0["psa"], externalId: $0["external_id"],
                        state: $0["state"], customerId: $0["customer_id"], customerName: $0["customer_name"],
                        agentName: $0["agent_name"], companyId: $0["company_id"], notes: $0["notes"], openedNight: $0["opened_night"],
                        summary: $0["summary"], openedAt: Date(timeIntervalSince1970: $0["created_at"]),
                        closedAt: ($0["closed_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
                }
            }
            return try Response.json(["tickets": tickets])
        }
    }
}
