import Foundation
import HTTPTypes
import Hummingbird

/// Admin endpoints answer only to `Authorization: Bearer <VECTIS_ADMIN_TOKEN>`; reads of customer data to the
/// admin token or the read-only token (`BearerTokenMiddleware(reading: tokens)`).
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: [[UInt8]]
    let refusal: String

    public init(token: String) {
        tokens = [Array(token.utf8)]
        refusal = #"{"error":"This endpoint needs Authorization: Bearer <VECTIS_ADMIN_TOKEN>."}"#
    }

    /// Reads: the admin token or the read-only token.
    public init(reading access: AccessTokens) {
        tokens = [Array(access.admin.utf8), Array(access.read.utf8)]
        refusal = #"{"error":"This endpoint needs Authorization: Bearer <VECTIS_READ_TOKEN or VECTIS_ADMIN_TOKEN>."}"#
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return refused }
        let given = Array(header.utf8.dropFirst(7))
        // Every token compared, whichever matches: the time taken says nothing about which (or how much) matched.
        var matched = false
        for token in tokens where Self.constantTimeEquals(given, token) { matched = true }
        guard matched else { return refused }
        return try await next(request, context)
    }

    var refused: Response {
        Response(
            status: .unauthorized,
            headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
            body: .init(byteBuffer: ByteBuffer(string: refusal)))
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the token.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// The two bearer tokens a service checks: the admin token (changes and reads) and the read-only token (reads).
public struct AccessTokens: Sendable {
    public var admin: String
    public var read: String

    /// Nobody's tokens unless given: a service built without them answers 401 to every protected route.
    public init(admin: String = AdminToken.unguessable, read: String = AdminToken.unguessable) {
        self.admin = admin
        self.read = read
    }

    /// Both tokens from the environment (or the data folder's token files, created if missing).
    public init(environment: Environment, dataDirectory: String) throws {
        self.init(
            admin: try AdminToken.resolve(environment, dataDirectory: dataDirectory),
            read: try ReadToken.resolve(environment, dataDirectory: dataDirectory))
    }
}
