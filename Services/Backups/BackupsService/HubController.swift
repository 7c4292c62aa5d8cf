import Foundation
import Hummingbird
import VectisAPI
import VectisContracts
import VectisRuntime

/// The customer hub's Backups section and each agent's history, one method per route.
struct HubController {
    let queries: HubQueries
    /// Customer data: the read-only or the admin token.
    let access: AccessTokens

    typealias Context = BasicRequestContext

    func addRoutes(to router: Router<Context>) {
        let v1 = router.group("v1").add(middleware: BearerTokenMiddleware(reading: access))
        v1.get("customers/:id/backups", use: customerBackups)
        v1.get("agents/:id/runs", use: agentRuns)
    }

    @Sendable func customerBackups(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let backups = try await queries.customerBackups(id: id) else {
            return Response.problem(.notFound, "No customer \(id) is known to the backups service.")
        }
        return try Response.json(backups)
    }

    /// `?limit=` (1–500, default 50) and `?before=` (ISO-8601) page back through the agent's runs; `?night=`
    /// (`YYYY-MM-DD`) keeps one night's (a grid cell's).
    @Sendable func agentRuns(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let parameters = request.uri.queryParameters
        var limit = 50
        if let text = parameters["limit"].map(String.init) {
            guard let value = Int(text), (1...500).contains(value) else {
                return Response.problem(.badRequest, "limit must be a whole number from 1 to 500.")
            }
            limit = value
        }
        var before: Date?
        if let text = parameters["before"].map(String.init) {
            guard let date = BusJSON.parseTimestamp(text) else {
                return Response.problem(.badRequest, "before must be an ISO-8601 timestamp, e.g. 2026-11-29T04:00:00Z.")
            }
            before = date
        }
        var night: String?
        if let text = parameters["night"].map(String.init) {
            guard text.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil, NightCalendar.night(text, adding: 0) == text else {
                return Response.problem(.badRequest, "night must be a date like 2026-11-28.")
            }
            night = text
        }
        guard let runs = try await queries.agentRuns(id: id, limit: limit, before: before, night: night) else {
            return Response.problem(.notFound, "No agent \(id).")
        }
        return try Response.json(runs)
    }
}
