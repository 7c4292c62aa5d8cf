import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VectisDelivery

/// `GET /v1/events?topics=alert.raised,alert.resolved`: the events this service publishes, as they are published,
/// as Server-Sent Events (`event: <topic>`, `data: <the JSON body on the bus>`), for the console's live screens.
/// Needs the read-only or the admin token like the reads it mirrors. A comment line every `heartbeat` keeps proxies
/// from closing a quiet stream and finds a client that left; a stream ends after `lifetime` (the client reconnects),
/// and a watcher too slow to keep up is ended rather than queued for.
public struct LiveEventsController: Sendable {
    let broadcast: EventBroadcast
    let access: AccessTokens
    let heartbeat: Duration
    let lifetime: Duration

    public init(broadcast: EventBroadcast, access: AccessTokens, heartbeat: Duration = .seconds(15), lifetime: Duration = .seconds(600)) {
        self.broadcast = broadcast
        self.access = access
        self.heartbeat = heartbeat
        self.lifetime = lifetime
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.group("v1").add(middleware: BearerTokenMiddleware(reading: access)).get("events", use: events)
    }

    @Sendable func events(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var topics: Set<String>?
        if let text = request.uri.queryParameters["topics"].map(String.init) {
            let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !names.isEmpty, names.count <= 32, names.allSatisfy({ $0.utf8.count <= 100 && $0.allSatisfy { $0.isASCII } }) else {
                return Response.problem(.badRequest, "topics must be at most 32 comma-separated topic names.")
            }
            topics = Set(names)
        }
        guard let stream = broadcast.subscribe(topics: topics) else {
            return Response.problem(.serviceUnavailable, "Too many live streams are open; the screen falls back to refreshing.")
        }
        let (heartbeat, lifetime) = (heartbeat, lifetime)
        let body = ResponseBody { writer in
            // Tell the client how soon to come back if the stream drops.
            try await writer.write(ByteBuffer(string: "retry: 3000\n: live\n\n"))
            let deadline = ContinuousClock.now + lifetime
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (lines, sink) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(1_000))
                group.addTask {
                    for await item in stream {
                        sink.yield(Self.frame(item))
                    }
                    sink.finish()
                }
                group.addTask {
                    while ContinuousClock.now < deadline {
                        try await Task.sleep(for: heartbeat)
                        sink.yield(ByteBuffer(string: ": keep-alive\n\n"))
                    }
                    sink.finish()
                }
                for await line in lines { try await writer.write(line) }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: body)
    }

    /// One event: its topic, and its JSON body on one line (JSON never holds a raw newline).
    static func frame(_ item: EventBroadcast.Item) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("event: \(item.topic.filter { $0 != "\n" && $0 != "\r" })\ndata: ")
        buffer.writeBytes(item.body.filter { $0 != 0x0A && $0 != 0x0D })
        buffer.writeString("\n\n")
        return buffer
    }
}
