import Foundation
import GRDB
import Hummingbird
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisStorage

/// `/v1/rule-templates`, `/v1/rules`, `/v1/psa-mappings`, `/v1/tickets`: one method per route.
struct RulesController {
    let database: DatabasePool
    let secrets: SecretBox
    let worker: TicketWorker
    let adminToken: String
    let readToken: String
    let defaultDryRun: Duration

    typealias Context = BasicRequestContext

    func addRoutes(to router: Router<Context>) {
        router.get("v1/rule-templates", use: templates)
        // Changes need the admin token; rules, their history, mappings and tickets are readable with the read-only one.
        let admin = router.group("v1").add(middleware: BearerTokenMiddleware(token: adminToken))
        let reader = router.group("v1").add(middleware: BearerTokenMiddleware(reading: AccessTokens(admin: adminToken, read: readToken)))
        admin.post("rules", use: create)
        reader.get("rules", use: list)
        reader.get("rules/:id", use: show)
        admin.patch("rules/:id", use: edit)
        reader.get("rules/:id/history", use: history)
        admin.post("rules/:id/test-ticket", use: testTicket)
        admin.put("psa-mappings/:psa/:customer", use: saveMapping)
        reader.get("psa-mappings", use: mappings)
        reader.get("tickets", use: tickets)
    }

    static func ruleId(_ text: String) -> Int64? { Int64(text.hasPrefix("ru_") ? String(text.dropFirst(3)) : text) }

    /// The rule named by the path's `:id`, or nil (answered 404).
    func ruleId(_ context: Context) throws -> Int64? { Self.ruleId(try context.parameters.require("id")) }

    static let noSuchRule = Response.problem(.notFound, "No such rule.")

    @Sendable func templates(_ request: Request, _ context: Context) async throws -> Response {
        try Response.json(RuleTemplateList(templates: RuleTemplate.all))
    }

    @Sendable func create(_ request: Request, _ context: Context) async throws -> Response {
        guard let body = try? await request.decode(as: NewRule.self, context: context) else {
            return Response.problem(.badRequest, "The body must be a JSON object.")
        }
        guard let template = RuleTemplate.all.first(where: { $0.id == body.templateId }) else {
            return Response.problem(.badRequest, "templateId must be one of \(RuleTemplate.all.map(\.id).joined(separator: ", ")).")
        }
        let settings = body.settings ?? PSASettings()
        let secretValues = body.secrets ?? PSASecrets()
        let threshold = body.thresholdNights ?? template.defaultThresholdNights
        let maxRetries = body.maxRetries ?? 2
        let tenant = body.tenant ?? "default"
        let action: RuleAction
        switch RuleEdit.action(body.action ?? RuleAction.ticket.rawValue, for: template) {
        case .failure(let refusal): return Response.problem(.badRequest, refusal.message)
        case .success(let chosen): action = chosen
        }
        let channels: [Int64]
        switch try await database.read({ db in try ChannelRecord.resolve(body.notifyChannels ?? [], tenant: tenant, db) }) {
        case .failure(let refusal): return Response.problem(.badRequest, refusal.message)
        case .success(let ids): channels = ids
        }
        if let problem = RuleEdit.settingsProblem(
            template, action: action, channels: channels, settings: settings, secrets: secretValues, threshold: threshold,
            maxRetries: maxRetries)
        {
            return Response.problem(.badRequest, problem)
        }
        if let hours = body.dryRunHours, let problem = RuleEdit.dryRunProblem(hours) { return Response.problem(.badRequest, problem) }
        let whenClosedByPerson: WhenClosedByPerson
        switch RuleEdit.whenClosedByPerson(body.whenClosedByPerson ?? WhenClosedByPerson.reopen.rawValue) {
        case .failure(let refusal): return Response.problem(.badRequest, refusal.message)
        case .success(let chosen): whenClosedByPerson = chosen
        }
        let reopenWindowDays = body.reopenWindowDays ?? 7
        if let problem = RuleEdit.reopenWindowProblem(reopenWindowDays) { return Response.problem(.badRequest, problem) }
        let dryRunSeconds = body.dryRunHours.map { $0 * 3_600 } ?? Double(defaultDryRun.components.seconds)
        let sealed = try secrets.seal(try RuleRecord.json(secretValues))
        let rule = try await database.write { db -> RuleRecord? in
            // Checked again in the transaction that saves the rule: a channel deleted in between is not named.
            guard case .success = try ChannelRecord.resolve(channels.map(ChannelRecord.publicId), tenant: tenant, db) else { return nil }
            let now = Date()
            let id = try RuleRecord.insert(
                tenant: tenant, template: template, name: body.name ?? template.name, settings: settings,
                secretsSealed: sealed, thresholdNights: threshold, closeOnRecovery: body.closeOnRecovery ?? false, action: action,
                maxRetries: maxRetries, dryRunUntil: now + dryRunSeconds, whenClosedByPerson: whenClosedByPerson,
                reopenWindowDays: reopenWindowDays, notifyChannels: channels, notifyRepeat: body.notifyRepeat ?? false, now: now, db)
            try Audit.record(
                rule: id, subject: nil, kind: "rule-created",
                detail: "enabled \(template.name); dry run for \(Int(dryRunSeconds / 3_600)) h",
                db: db)
            return try RuleRecord.find(id: id, db)
        }
        guard let rule else { return Response.problem(.badRequest, "notifyChannels: a channel was deleted meanwhile; choose again.") }
        return try Response.json(rule.view(secrets: secrets), status: .created)
    }

    @Sendable func list(_ request: Request, _ context: Context) async throws -> Response {
        let rules = try await database.read { db in try RuleRecord.all(db) }
        return try Response.json(RuleList(rules: rules.map { $0.view(secrets: secrets) }))
    }

    @Sendable func show(_ request: Request, _ context: Context) async throws -> Response {
        guard let id = try ruleId(context), let rule = try await database.read({ db in try RuleRecord.find(id: id, db) }) else {
            return Self.noSuchRule
        }
        return try Response.json(rule.view(secrets: secrets))
    }

    @Sendable func edit(_ request: Request, _ context: Context) async throws -> Response {
        guard let id = try ruleId(context) else { return Self.noSuchRule }
        guard let change = try? await request.decode(as: RuleChange.self, context: context) else {
            return Response.problem(.badRequest, "The body must be a JSON object: enabled, dryRunHours, or the rule's settings to change.")
        }
        if let hours = change.dryRunHours, let problem = RuleEdit.dryRunProblem(hours) { return Response.problem(.badRequest, problem) }
        enum Outcome {
            case noRule
            case refused(String)
            case saved(RuleRecord)
        }
        // Read, check and write in one transaction, so two edits at once cannot undo each other unseen.
        let outcome = try await database.write { [secrets] db -> Outcome in
            guard let current = try RuleRecord.find(id: id, db) else { return .noRule }
            switch try RuleEdit.make(current, change, secrets: secrets, db) {
            case .failure(let refusal):
                return .refused(refusal.message)
            case .success(let edit?):
                try RuleRecord.save(edit, id: id, secretsSealed: try secrets.seal(try RuleRecord.json(edit.secrets)), db)
                if !edit.changes.isEmpty {
                    try Audit.record(rule: id, subject: nil, kind: "rule-changed", detail: edit.changes.joined(separator: "; "), db: db)
                }
            case .success(nil):
                break
            }
            if let enabled = change.enabled {
                try RuleRecord.setEnabled(enabled, id: id, db)
                try Audit.record(rule: id, subject: nil, kind: "rule-changed", detail: enabled ? "enabled" : "disabled", db: db)
            }
            if let hours = change.dryRunHours {
                try RuleRecord.setDryRun(until: Date() + hours * 3_600, id: id, db)
                let detail = hours == 0 ? "dry run ended: live" : "dry run for \(hours) h"
                try Audit.record(rule: id, subject: nil, kind: "rule-changed", detail: detail, db: db)
            }
            return try RuleRecord.find(id: id, db).map(Outcome.saved) ?? .noRule
        }
        switch outcome {
        case .noRule: return Self.noSuchRule
        case .refused(let message): return Response.problem(.badRequest, message)
        case .saved(let rule): return try Response.json(rule.view(secrets: secrets))
        }
    }

    @Sendable func history(_ request: Request, _ context: Context) async throws -> Response {
        guard let id = try ruleId(context) else { return Self.noSuchRule }
        let entries = try await database.read { db in try RuleRecord.exists(id: id, db) ? try Audit.history(rule: id, db) : nil }
        guard let entries else { return Self.noSuchRule }
        return try Response.json(RuleHistory(history: entries))
    }

    @Sendable func testTicket(_ request: Request, _ context: Context) async throws -> Response {
        guard let id = try ruleId(context),
            let rule = try await database.read({ [secrets] db in
                try RuleConnection.load(id, db: db, secrets: secrets, tolerateUnreadableSecrets: true)
            })
        else { return Self.noSuchRule }
        guard let body = try? await request.decode(as: CompanyChoice.self, context: context), !body.companyId.isEmpty else {
            return Response.problem(.badRequest, "Give companyId: the PSA company to open the test ticket in.")
        }
        guard !rule.secretsUnreadable else {
            return try Response.json(TestTicketOutcome(ok: false, error: RuleConnection.unreadableSecrets))
        }
        switch try await worker.testTicket(rule: rule, companyId: body.companyId) {
        case .success(let ticket): return try Response.json(TestTicketOutcome(ok: true, ticketId: ticket))
        // Like the Datto Test button: the check ran and this is its answer, so 200 either way (a 5xx would say
        // that Vectis failed, not the PSA).
        case .failure(let error): return try Response.json(TestTicketOutcome(ok: false, error: error.description))
        }
    }

    @Sendable func saveMapping(_ request: Request, _ context: Context) async throws -> Response {
        guard let psa = PSAKind(rawValue: try context.parameters.require("psa")) else {
            return Response.problem(.badRequest, "psa must be connectwise, autotask or halopsa.")
        }
        guard let body = try? await request.decode(as: CompanyChoice.self, context: context), !body.companyId.isEmpty else {
            return Response.problem(.badRequest, "Give companyId: the PSA's own id for this customer.")
        }
        let customer = try context.parameters.require("customer")
        try await database.write { db in
            try PSAMappingRecord.save(psa: psa, customerId: customer, companyId: body.companyId, at: Date(), db)
        }
        return try Response.json(PSAMapping(psa: psa, customerId: customer, companyId: body.companyId, updatedAt: nil))
    }

    @Sendable func mappings(_ request: Request, _ context: Context) async throws -> Response {
        var psa: PSAKind?
        if let text = request.uri.queryParameters.get("psa") {
            guard let kind = PSAKind(rawValue: text) else {
                return Response.problem(.badRequest, "psa must be connectwise, autotask or halopsa.")
            }
            psa = kind
        }
        let mappings = try await database.read { [psa] db in try PSAMappingRecord.all(psa: psa, db) }
        return try Response.json(PSAMappingList(mappings: mappings.map(\.view)))
    }

    /// `?rule=ru_3`: one rule's tickets (the console's rule page); `?customer=c_…`: one customer's; `?since=` (ISO-8601):
    /// those opened since (the dashboard's week, a monthly report).
    @Sendable func tickets(_ request: Request, _ context: Context) async throws -> Response {
        let parameters = request.uri.queryParameters
        var filter = TicketRecord.Filter()
        if let text = parameters.get("rule") {
            guard let id = Self.ruleId(text) else { return Response.problem(.badRequest, "rule must be a rule id such as ru_1.") }
            filter.rule = id
        }
        if let text = parameters.get("since") {
            guard let since = BusJSON.parseTimestamp(text) else {
                return Response.problem(.badRequest, "since must be an ISO-8601 timestamp, e.g. 2026-11-23T00:00:00Z.")
            }
            filter.since = since
        }
        filter.customerId = parameters.get("customer")
        let tickets = try await database.read { [filter] db in try TicketRecord.views(filter, db) }
        return try Response.json(TicketList(tickets: tickets))
    }
}
