import Foundation
import HTTPTypes
import Hummingbird

/// Small helpers the three emulated PSAs share.
enum PSAHTTP {
    static func json(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]))
            ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func body(_ request: Request) async throws -> Any? {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        guard buffer.readableBytes > 0 else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(buffer: buffer))
    }

    static func rawBody(_ request: Request) async throws -> String {
        var request = request
        let buffer = try await request.collectBody(upTo: 1 << 20)
        return String(buffer: buffer)
    }

    /// Applies a queued fault; returns a response to send instead, or nil to go on (possibly after a delay).
    static func fault(_ state: PSASandboxState, psa: String, request: Request) async throws -> (response: Response?, createThenTimeout: Int?) {
        state.log("\(request.method) \(request.uri.path)")
        guard let fault = state.takeFault(psa: psa, method: "\(request.method)", path: request.uri.path) else { return (nil, nil) }
        switch fault.fault {
        case .rateLimit:
            var response = json(["message": "Rate Limit Reached"], status: .tooManyRequests)
            response.headers[.retryAfter] = String(fault.retryAfterSeconds ?? 1)
            return (response, nil)
        case .serverError:
            return (json(["message": "Internal Server Error"], status: .internalServerError), nil)
        case .badRequest:
            return (json(["message": "Bad Request", "errors": ["rejected by the sandbox"]], status: .badRequest), nil)
        case .slow:
            try await Task.sleep(for: .milliseconds(fault.delayMilliseconds ?? 3_000))
            return (nil, nil)
        case .createThenTimeout:
            return (nil, fault.delayMilliseconds ?? 5_000)
        }
    }

    static func int(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        if let number = value as? Double { return Int(number) }
        if let text = value as? String { return Int(text) }
        return nil
    }
}
