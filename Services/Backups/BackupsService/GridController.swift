import Foundation
import Hummingbird
import VectisAPI
import VectisRuntime

/// The status grid, success rates and the fleet dashboard, one method per route. Reads need the read-only or the
/// admin token; a customer's roll-up mode is changed with the admin token.
struct GridController {
    let queries: GridQueries
    let access: AccessTokens

    typealias Context = BasicRequestContext

    /// Nights a grid, a rate or the dashboard may span.
    static let nightRange = 1...90

    func addRoutes(to router: Router<Context>) {
        let v1 = router.group("v1")
        let reader = v1.group().add(middleware: BearerTokenMiddleware(reading: access))
        reader.get("customers/:id/grid", use: grid)
        reader.get("customers/:id/grid-settings", use: settings)
        reader.get("success-rates", use: successRates)
        reader.get("fleet", use: fleet)
        let admin = v1.group().add(middleware: BearerTokenMiddleware(token: access.admin))
        admin.put("customers/:id/grid-settings", use: saveSettings)
    }

    /// `?name=` as a whole number of nights in `nightRange`, or the problem to answer.
    static func nights(_ request: Request, _ name: String, default value: Int) -> Result<Int, ProblemResponse> {
        guard let text = request.uri.queryParameters[Substring(name)].map(String.init) else { return .success(value) }
        guard let count = Int(text), nightRange.contains(count) else {
            return .failure(ProblemResponse(.badRequest, "\(name) must be a whole number of nights from 1 to 90."))
        }
        return .success(count)
    }

    @Sendable func grid(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        var span: GridQueries.Span
        switch Self.nights(request, "days", default: 30) {
        case .success(let count): span = .days(count)
        case .failure(let problem): return problem.response
        }
        if let month = request.uri.queryParameters["month"].map(String.init) {
            guard month.wholeMatch(of: /(19|20)[0-9]{2}-(0[1-9]|1[0-2])/) != nil else {
                return Response.problem(.badRequest, "month must be a month like 2026-11.")
            }
            guard request.uri.queryParameters["days"] == nil else {
                return Response.problem(.badRequest, "Ask for days or for a month, not both.")
            }
            span = .month(month)
        }
        var rollUp: RollUp?
        if let text = request.uri.queryParameters["rollUp"].map(String.init) {
            guard let mode = RollUp(rawValue: text) else {
                return Response.problem(.badRequest, "rollUp must be worst, last or best.")
            }
            rollUp = mode
        }
        guard let grid = try await queries.customerGrid(id: id, span: span, rollUp: rollUp) else {
            return Response.problem(.notFound, "No customer \(id) is known to the backups service.")
        }
        return try Response.json(grid)
    }

    @Sendable func settings(_ request: Request, _ context: Context) async throws -> Response {
        try Response.json(try await queries.gridSettings(customerId: try context.parameters.require("id")))
    }

    @Sendable func saveSettings(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let body = try? await request.decode(as: GridSettings.self, context: context) else {
            return Response.problem(
                .badRequest, #"The body must be JSON like {"rollUp": "worst"} (worst, last or best; null for the tenant's)."#)
        }
        guard try await queries.saveGridSettings(customerId: id, body) else {
            return Response.problem(.notFound, "No customer \(id) is known to the backups service.")
        }
        return try Response.json(try await queries.gridSettings(customerId: id))
    }

    @Sendable func successRates(_ request: Request, _ context: Context) async throws -> Response {
        switch Self.nights(request, "nights", default: 30) {
        case .success(let count): return try Response.json(try await queries.successRates(nights: count))
        case .failure(let problem): return problem.response
        }
    }

    @Sendable func fleet(_ request: Request, _ context: Context) async throws -> Response {
        switch Self.nights(request, "nights", default: 30) {
        case .success(let count): return try Response.json(try await queries.fleet(nights: count))
        case .failure(let problem): return problem.response
        }
    }
}

/// A problem answer held until it is returned (`Response` itself is not an `Error`).
struct ProblemResponse: Error {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        (self.status, self.message) = (status, message)
    }

    var response: Response { Response.problem(status, message) }
}
