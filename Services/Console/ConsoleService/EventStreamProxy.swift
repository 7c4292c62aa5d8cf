import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// `/api/<service>/v1/events`: a service's Server-Sent Events passed through as they arrive — never collected
/// first, which would hold every event until the stream ended. Bounded: at most `maxStreams` at once; the upstream
/// request ends when the browser goes away (the body stops being read and AsyncHTTPClient cancels it).
final class EventStreamProxy: Sendable {
    let maxStreams: Int
    let logger: Logger
    private let open = Mutex(0)

    init(maxStreams: Int = 64, logger: Logger) {
        self.maxStreams = maxStreams
        self.logger = logger
    }

    func stream(_ url: URL, authorization: String?, service: String) async -> Response {
        let admitted = open.withLock { count -> Bool in
            guard count < maxStreams else { return false }
            count += 1
            return true
        }
        guard admitted else {
            return Response.problem(.serviceUnavailable, "Too many live streams are open; the screen falls back to refreshing.")
        }
        let release: @Sendable () -> Void = { [self] in open.withLock { $0 -= 1 } }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response: HTTPClientResponse
        do {
            // The deadline covers the answer's head only: the stream itself is quiet between events.
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        } catch {
            release()
            logger.warning("a live stream could not be opened", metadata: ["service": "\(service)", "error": "\(error)"])
            return Response.problem(.badGateway, "vectis-\(service) is not answering its live stream.")
        }
        var headers = HTTPFields()
        headers[.contentType] = response.headers.first(name: "Content-Type") ?? "text/event-stream"
        headers[.cacheControl] = "no-store"
        guard response.status == .ok else {
            // A refusal (401, 400, 503) is short: pass it on whole.
            let body = (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer()
            release()
            return Response(status: HTTPResponse.Status(code: Int(response.status.code)), headers: headers, body: .init(byteBuffer: body))
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer { release() }
                for try await chunk in response.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }
}
