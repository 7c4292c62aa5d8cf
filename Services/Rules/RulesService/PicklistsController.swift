import Foundation
import GRDB
import Hummingbird
import Logging
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisStorage

/// `POST /v1/psa-picklists`: reads the PSA tenant's boards/queues, statuses, priorities, ticket types and companies
/// live, with the connection settings being typed into the Enable form, or with a saved rule's (`rule`), so ids
/// are picked by name rather than typed from memory.
struct PicklistsController {
    let database: DatabasePool
    let secrets: SecretBox
    let worker: TicketWorker
    let adminToken: String
    let logger: Logger

    func addRoutes(to router: Router<BasicRequestContext>) {
        let admin = router.group("v1").add(middleware: BearerTokenMiddleware(token: adminToken))
        admin.post("psa-picklists", use: picklists)
    }

    @Sendable func picklists(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let body = try? await request.decode(as: PicklistsQuery.self, context: context) else {
            return Response.problem(.badRequest, "The body must be a JSON object with psa, settings and secrets, or rule.")
        }
        var record = RuleConnection(id: 0, tenant: "default", psa: .connectwise, settings: PSASettings(), secrets: PSASecrets())
        if let text = body.rule {
            guard let id = RulesController.ruleId(text),
                let saved = try await database.read({ [secrets] db in
                    try RuleConnection.load(id, db: db, secrets: secrets, tolerateUnreadableSecrets: true)
                })
            else { return Response.problem(.notFound, "No such rule.") }
            record = saved
        } else {
            guard let psa = body.psa.flatMap(PSAKind.init(rawValue:)) else {
                return Response.problem(.badRequest, "psa must be connectwise, autotask or halopsa (or give rule).")
            }
            record.psa = psa
        }
        if let psa = body.psa, psa != record.psa.rawValue {
            return Response.problem(.badRequest, "Rule \(body.rule ?? "") is a \(record.psa.rawValue) rule, not \(psa).")
        }
        let saved = record.settings
        record.settings = try overlay(record.settings, body.settings)
        if body.rule != nil,
            let problem = PSASettings.secretsNeeded(saved: saved, new: record.settings, psa: record.psa, given: body.secrets)
        {
            return Response.problem(.badRequest, problem + ".")
        }
        record.secrets = try overlay(record.secrets, body.secrets)
        let connection = PSAField.connectionFields(for: record.psa)
        let missing = record.settings.missing(for: record.psa, secrets: record.secrets).filter { name in
            connection.contains { $0.name == name }
        }
        // Unreadable saved secrets: the ones typed into the form are used; without them the PSA is not asked.
        if record.secretsUnreadable, missing.contains(where: { name in connection.contains { $0.name == name && $0.kind == .secret } }) {
            return try Response.json(PicklistsOutcome(ok: false, psa: record.psa, error: RuleConnection.unreadableSecrets))
        }
        guard missing.isEmpty else {
            return Response.problem(.badRequest, "To read \(record.psa.rawValue)'s lists, give: \(missing.joined(separator: ", ")).")
        }
        let invalid = record.settings.invalidAddresses(for: record.psa)
        guard invalid.isEmpty else { return Response.problem(.badRequest, invalid.joined(separator: "; ") + ".") }

        switch try await worker.picklists(rule: record) {
        case .success(let lists):
            return try Response.json(
                PicklistsOutcome(
                    ok: true, psa: record.psa, picklists: lists.fields, companies: lists.companies,
                    companiesTruncated: lists.companiesTruncated))
        case .failure(let error):
            logger.notice("PSA pick lists not read", metadata: ["psa": "\(record.psa.rawValue)", "error": "\(error)"])
            return try Response.json(PicklistsOutcome(ok: false, psa: record.psa, error: error.description))
        }
    }
}
