import Foundation
import GRDB
import Hummingbird
import VectisAPI
import VectisContracts
import VectisDelivery
import VectisRuntime

/// `/v1/alerts` (the feed) and `/v1/mutes`, one method per route; changes need the admin token.
struct AlertsController {
    let queries: AlertQueries
    let database: DatabasePool
    let outbox: Outbox
    let access: AccessTokens

    typealias Context = BasicRequestContext

    func addRoutes(to router: Router<Context>) {
        let v1 = router.group("v1")
        let reader = v1.group().add(middleware: BearerTokenMiddleware(reading: access))
        reader.get("alerts", use: list)
        reader.get("alerts/:id", use: show)
        reader.get("alert-counts", use: counts)
        let admin = v1.group().add(middleware: BearerTokenMiddleware(token: access.admin))
        admin.post("alerts/:id/acknowledge", use: acknowledge)
        admin.post("alerts/:id/resolve", use: resolve)
        admin.post("mutes", use: mute)
    }

    static let noSuchAlert = Response.problem(.notFound, "No such alert.")

    static func alertId(_ text: String) -> Int64? {
        Int64(text.hasPrefix("al_") ? String(text.dropFirst(3)) : text)
    }

    @Sendable func list(_ request: Request, _ context: Context) async throws -> Response {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        do {
            return try Response.json(try await queries.page(try AlertFilter(query: query)))
        } catch let error as FilterError {
            return Response.problem(.badRequest, error.message)
        }
    }

    @Sendable func counts(_ request: Request, _ context: Context) async throws -> Response {
        try Response.json(try await queries.counts())
    }

    @Sendable func show(_ request: Request, _ context: Context) async throws -> Response {
        guard let id = Self.alertId(try context.parameters.require("id")), let alert = try await queries.alert(id: id) else {
            return Self.noSuchAlert
        }
        return try Response.json(alert)
    }

    @Sendable func acknowledge(_ request: Request, _ context: Context) async throws -> Response {
        try await act(request, context) { [outbox] id, by, db in
            try AlertStore.acknowledge(id: id, by: by, now: Date(), db: db, outbox: outbox)
        }
    }

    @Sendable func resolve(_ request: Request, _ context: Context) async throws -> Response {
        try await act(request, context) { [outbox] id, by, db in
            guard let alert = try AlertRecord.find(id: id, db) else { throw AlertStore.ActionError.notFound }
            guard alert.state != .resolved else { throw AlertStore.ActionError.alreadyResolved }
            try AlertStore.resolve(id: id, reason: "manual", by: by, at: Date(), now: Date(), db: db, outbox: outbox)
        }
    }

    @Sendable func mute(_ request: Request, _ context: Context) async throws -> Response {
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
        let id = try await database.write { [outbox] db in
            try AlertStore.mute(
                scope: scope, targetId: target, until: until, reason: body.reason, by: body.by, now: Date(), db: db, outbox: outbox)
        }
        return try Response.json(MuteCreated(id: "mu_\(id)", scope: scope, targetId: target, until: until), status: .created)
    }

    /// Runs a person's action on the alert named in the path, with who did it (`{"by": …}`, optional), and answers
    /// the alert as it now stands.
    private func act(
        _ request: Request, _ context: Context, _ action: @escaping @Sendable (Int64, String?, Database) throws -> Void
    ) async throws -> Response {
        guard let id = Self.alertId(try context.parameters.require("id")) else { return Self.noSuchAlert }
        var request = request
        let body = try await request.collectBody(upTo: 16 * 1024)
        var by: String?
        if body.readableBytes > 0 {
            // An empty body is fine (no name recorded); a body that is not the expected JSON is a mistake worth saying.
            guard let actor = try? JSONDecoder().decode(AlertActor.self, from: Data(buffer: body)) else {
                return Response.problem(.badRequest, "The body, when given, must be a JSON object such as {\"by\": \"jane\"}.")
            }
            by = actor.by
        }
        do {
            try await database.write { [by] db in try action(id, by, db) }
        } catch AlertStore.ActionError.notFound {
            return Self.noSuchAlert
        } catch AlertStore.ActionError.alreadyResolved {
            return Response.problem(.conflict, "The alert is already resolved.")
        } catch AlertStore.ActionError.notOpen {
            return Response.problem(.conflict, "Only an open alert can be acknowledged.")
        }
        guard let alert = try await queries.alert(id: id) else { return Self.noSuchAlert }
        return try Response.json(alert)
    }
}
