import Foundation
import GRDB
import Hummingbird
import VectisContracts
import VectisDelivery
import VectisRuntime

/// `/v1/alerts` (the feed) and `/v1/mutes`; changes need the admin token.
struct AlertsController {
    let queries: AlertQueries
    let database: DatabasePool
    let outbox: Outbox
    let access: AccessTokens

    struct Actor: Decodable { var by: String? }
    struct MuteRequest: Decodable {
        var scope: String?
        var agentId: String?
        var customerId: String?
        var until: String?
        var reason: String?
        var by: String?
    }
    struct MuteCreated: Encodable {
        var id: String
        var scope: MuteScope
        var targetId: String
        var until: Date
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        let v1 = router.group("v1")
        let reader = v1.group().add(middleware: BearerTokenMiddleware(reading: access))
        reader.get("alerts") { request, _ in
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            do {
                return try Response.json(try await queries.page(try AlertFilter(query: query)))
            } catch let error as FilterError {
                return Response.problem(.badRequest, error.message)
            }
        }
        reader.get("alerts/:id") { _, context in
            guard let id = Self.alertId(try context.parameters.require("id")), let alert = try await queries.alert(id: id) else {
                return Response.problem(.notFound, "No such alert.")
            }
            return try Response.json(alert)
        }
        let admin = v1.group().add(middleware: BearerTokenMiddleware(token: access.admin))
        admin.post("alerts/:id/acknowledge") { request, context in
            try await act(request, context) { id, by, db in
                try AlertStore.acknowledge(id: id, by: by, now: Date(), db: db, outbox: outbox)
            }
        }
        admin.post("alerts/:id/resolve") { request, context in
            try await act(request, context) { id, by, db in
                switch try Bool.fetchOne(db, sql: "SELECT state != 'resolved' FROM alert WHERE id = ?", arguments: [id]) {
                case nil: throw AlertStore.ActionError.notFound
                case false?: throw AlertStore.ActionError.alreadyResolved
                case true?: break
                }
                try AlertStore.resolve(id: id, reason: "manual", by: by, at: Date(), now: Date(), db: db, outbox: outbox)
            }
        }
        admin.post("mutes") { request, context in
            guard let body = try? await request.decode(as: MuteRequest.self, context: context) else {
                return Response.problem(.badRequest, "The body must be a JSON object.")
            }
            let scope = body.scope.map(MuteScope.init(rawValue:)) ?? (body.agentId != nil ? .agent : .customer)
            guard let scope, let target = scope == .agent ? body.agentId : body.customerId else {
                return Response.problem(.badRequest, "Give scope agent with agentId, or scope customer with customerId.")
            }
            guard let text = body.until, let until = BusJSON.parseTimestamp(text) else {
                return Response.problem(.badRequest, "until is required: an ISO-8601 time when the mute ends (a mute never lasts forever).")
            }
            guard until > Date(), until < Date().addingTimeInterval(90 * 86_400) else {
                return Response.problem(.badRequest, "until must be in the future and at most 90 days away.")
            }
            let id = try await database.write { db in
                try AlertStore.mute(
                    scope: scope, targetId: target, until: until, reason: body.reason, by: body.by, now: Date(), db: db, outbox: outbox)
            }
            return try Response.json(MuteCreated(id: "mu_\(id)", scope: scope, targetId: target, until: until), status: .created)
        }
    }

    private func act(
        _ request: Request, _ context: BasicRequestContext, _ action: @escaping @Sendable (Int64, String?, Database) throws -> Void
    ) async throws -> Response {
        guard let id = Self.alertId(try context.parameters.require("id")) else { return Response.problem(.notFound, "No such alert.") }
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        var by: String?
        if body.readableBytes > 0 {
            // An empty body is fine (no name recorded); a body that is not the expected JSON is a mistake worth saying.
            guard let actor = try? JSONDecoder().decode(Actor.self, from: Data(buffer: body)) else {
                return Response.problem(.badRequest, "The body, when given, must be a JSON object such as {\"by\": \"jane\"}.")
            }
            by = actor.by
        }
        do {
            try await database.write { [by] db in try action(id, by, db) }
        } catch AlertStore.ActionError.notFound {
            return Response.problem(.notFound, "No such alert.")
        } catch AlertStore.ActionError.alreadyResolved {
            return Response.problem(.conflict, "The alert is already resolved.")
        } catch AlertStore.ActionError.notOpen {
            return Response.problem(.conflict, "Only an open alert can be acknowledged.")
        }
        guard let alert = try await queries.alert(id: id) else { return Response.problem(.notFound, "No such alert.") }
        return try Response.json(alert)
    }

    static func alertId(_ text: String) -> Int64? {
        Int64(text.hasPrefix("al_") ? String(text.dropFirst(3)) : text)
    }
}
