import Foundation
import HTTPTypes
import Hummingbird

/// Small helpers the three emulated PSAs share.
enum PSAHTTP {
    static func json(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data =
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]))
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
    static func fault(_ state: PSASandboxState, psa: String, request: Request) async throws -> (
        response: Response?, createThenTimeout: Int?
    ) {
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
        case .validation:
            switch psa {
            case "connectwise":
                return (
                    json(
                        [
                            "code": "InvalidObject", "message": "ticket object is invalid",
                            "errors": [
                                ["code": "NullValue", "message": "The board field is required.", "resource": "ticket", "field": "board"]
                            ]
                        ], status: .badRequest), nil
                )
            case "autotask":
                return (json(["errors": ["Unable to save: the Queue ID 999 does not exist."]], status: .internalServerError), nil)
            default:
                return (text("Error: Client ID 99 not found", status: .badRequest), nil)
            }
        case .unauthorized:
            switch psa {
            case "connectwise": return (json(["code": "Unauthorized", "message": "Invalid credentials."], status: .unauthorized), nil)
            case "autotask": return (Response(status: .unauthorized), nil)
            default:
                return (
                    json(["error": "invalid_client", "error_description": "The client credentials are invalid."], status: .unauthorized),
                    nil
                )
            }
        case .forbidden:
            return (json(["code": "Forbidden", "message": "This API member has no access to service tickets."], status: .forbidden), nil)
        case .notFound:
            return (json(["code": "NotFound", "message": "Ticket not found."], status: .notFound), nil)
        case .html:
            return (
                text(
                    "<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>…</form></body></html>",
                    status: .ok, contentType: "text/html"), nil
            )
        case .emptyError:
            return (Response(status: .badGateway), nil)
        case .huge:
            // Streamed a MiB at a time with no Content-Length: the client has to count as it reads.
            return (
                Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody { writer in
                        let chunk = ByteBuffer(repeating: UInt8(ascii: " "), count: 1 << 20)
                        try await writer.write(ByteBuffer(string: "{\"id\": 1"))
                        for _ in 0..<20 { try await writer.write(chunk) }
                        try await writer.write(ByteBuffer(string: "}"))
                        try await writer.finish(nil)
                    }), nil
            )
        }
    }

    static func text(_ value: String, status: HTTPResponse.Status, contentType: String = "text/plain") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: value)))
    }

    static func int(_ value: Any?) -> Int? {
        if let number = value as? Int { return number }
        if let number = value as? Double { return Int(number) }
        if let text = value as? String { return Int(text) }
        return nil
    }
}
