import Foundation
import Hummingbird
import VectisDelivery

/// `GET /v1/dead-letters` and `POST /v1/dead-letters/retry` on every service that consumes from the bus, behind
/// the admin token: the messages a handler refused (a decode or logic error, never a transient one), with their
/// errors, and a way to apply them again once the cause is fixed (`vectis dead-letters list|retry`).
public struct DeadLetterController: Sendable {
    let consumer: BusConsumer
    let adminToken: String

    public init(consumer: BusConsumer, adminToken: String) {
        self.consumer = consumer
        self.adminToken = adminToken
    }

    public struct Listing: Encodable, Sendable {
        public var deadLetters: [DeadLetter]
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        let group = router.group("v1/dead-letters").add(middleware: BearerTokenMiddleware(token: adminToken))
        group.get(use: list)
        group.post("retry", use: retry)
    }

    @Sendable func list(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let limit = request.uri.queryParameters.get("limit", as: Int.self).map { max(1, min($0, 10_000)) } ?? 500
        let letters = try await consumer.deadLetters(limit: limit)
        return try Response.json(Listing(deadLetters: letters))
    }

    @Sendable func retry(_ request: Request, context: BasicRequestContext) async throws -> Response {
        try Response.json(try await consumer.retryDeadLetters())
    }
}
