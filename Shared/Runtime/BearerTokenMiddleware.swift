import Foundation
import HTTPTypes
import Hummingbird

/// Admin endpoints answer only to `Authorization: Bearer <VECTIS_ADMIN_TOKEN>`.
public struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String

    public init(token: String) {
        self.token = token
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Self.constantTimeEquals(Array(header.utf8.dropFirst(7)), Array(token.utf8))
        else {
            return Response(
                status: .unauthorized,
                headers: [.contentType: "application/json", .wwwAuthenticate: "Bearer"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"This endpoint needs Authorization: Bearer <VECTIS_ADMIN_TOKEN>."}"#)))
        }
        return try await next(request, context)
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the token.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
