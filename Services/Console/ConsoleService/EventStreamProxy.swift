import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `/api/<service>/v1/events`: a service's Server-Sent Events passed through as they arrive — never collected
/// first, which would hold every event until the stream ended. Bounded: at most `maxStreams` at once; the upstream
/// request ends when the browser goes away.
final class EventStreamProxy: Sendable {
    let maxStreams: Int
    let logger: Logger
    private let open = Mutex(0)

    init(maxStreams: Int = 64, logger: Logger) {
        self.maxStreams = maxStreams
        self.logger = logger
    }

    /// Receives the upstream answer chunk by chunk (libcurl hands them over as they arrive).
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let chunks: AsyncStream<ByteBuffer>.Continuation
        private let head = Mutex<CheckedContinuation<HTTPURLResponse?, Never>?>(nil)

        init(chunks: AsyncStream<ByteBuffer>.Continuation) {
            self.chunks = chunks
        }

        func waitForHead(_ start: () -> Void) async -> HTTPURLResponse? {
            await withCheckedContinuation { continuation in
                head.withLock { $0 = continuation }
                start()
            }
        }

        private func answer(_ response: HTTPURLResponse?) {
            head.withLock { continuation in
                continuation?.resume(returning: response)
                continuation = nil
            }
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
        ) {
            answer(response as? HTTPURLResponse)
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            if case .dropped = chunks.yield(ByteBuffer(bytes: data)) { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            answer(nil)
            chunks.finish()
        }
    }

    func stream(_ upstream: URLRequest, service: String) async -> Response {
        let admitted = open.withLock { count -> Bool in
            guard count < maxStreams else { return false }
            count += 1
            return true
        }
        guard admitted else {
            return Response.problem(.serviceUnavailable, "Too many live streams are open; the screen falls back to refreshing.")
        }
        let (chunks, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(1_000))
        let receiver = Receiver(chunks: continuation)
        let session = URLSession(configuration: .ephemeral, delegate: receiver, delegateQueue: nil)
        var request = upstream
        request.timeoutInterval = 24 * 3_600  // a live stream is quiet between events; the service sends keep-alives
        let task = session.dataTask(with: request)
        let release: @Sendable () -> Void = { [self] in
            task.cancel()
            session.invalidateAndCancel()
            open.withLock { $0 -= 1 }
        }
        guard let head = await receiver.waitForHead({ task.resume() }) else {
            release()
            return Response.problem(.badGateway, "vectis-\(service) is not answering its live stream.")
        }
        var headers = HTTPFields()
        headers[.contentType] = head.value(forHTTPHeaderField: "Content-Type") ?? "text/event-stream"
        headers[.cacheControl] = "no-store"
        guard head.statusCode == 200 else {
            // A refusal (401, 400, 503) is short: pass it on whole.
            var body = ByteBuffer()
            for await chunk in chunks where body.readableBytes < 64 << 10 { body.writeImmutableBuffer(chunk) }
            release()
            return Response(status: HTTPResponse.Status(code: head.statusCode), headers: headers, body: .init(byteBuffer: body))
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                defer { release() }
                for await chunk in chunks { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }
}
