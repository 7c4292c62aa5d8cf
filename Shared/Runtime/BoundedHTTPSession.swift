import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A response body was larger than the client accepts; the transfer was cancelled at the limit.
public struct ResponseTooLarge: Error, Sendable, CustomStringConvertible {
    public let limit: Int
    /// The answer's HTTP status, when its head arrived before the body ran over.
    public var status: Int?

    public init(limit: Int, status: Int? = nil) {
        self.limit = limit
        self.status = status
    }

    public var description: String {
        limit >= 1_048_576 ? "the response is larger than \(limit / 1_048_576) MiB" : "the response is larger than \(limit / 1_024) KiB"
    }
}

/// URLSession with a ceiling on response bodies: bytes are counted as they arrive and the transfer is
/// cancelled past `maxResponseBytes`, so a broken or hostile upstream cannot make a service buffer
/// gigabytes (`URLSession.data(for:)` alone reads everything before anyone can look at the size).
public final class BoundedHTTPSession: Sendable {
    public let maxResponseBytes: Int
    private let session: URLSession
    private let transfers: Transfers

    /// Which redirects are followed; one that is not is answered as it is (the 3xx).
    public enum Redirects: Sendable {
        /// None: the caller sees every 3xx.
        case never
        /// Only to the same scheme, host and port, so the request's credentials never reach another origin
        /// (nor go from https to http).
        case sameOrigin
    }

    public init(configuration: URLSessionConfiguration, maxResponseBytes: Int, redirects: Redirects = .sameOrigin) {
        self.maxResponseBytes = maxResponseBytes
        transfers = Transfers(limit: maxResponseBytes, redirects: redirects)
        session = URLSession(configuration: configuration, delegate: transfers, delegateQueue: nil)
    }

    deinit {
        // The session holds its delegate strongly until invalidated.
        session.finishTasksAndInvalidate()
    }

    public func data(for request: URLRequest) async throws -> (Data, URLResponse) {
        let task = session.dataTask(with: request)
        let id = task.taskIdentifier
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // A task cancelled before it started never reaches the delegate: answer for it here.
                if transfers.start(id, continuation: continuation) { task.resume() }
            }
        } onCancel: { [transfers] in
            // Resume the caller now; URLSession's own completion for the cancelled task then finds nothing.
            transfers.cancel(id)
            task.cancel()
        }
    }

    /// Per-task buffers, fed by URLSession's delegate callbacks.
    final class Transfers: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        struct Transfer {
            var data = Data()
            var response: URLResponse?
            var tooLarge = false
            var continuation: CheckedContinuation<(Data, URLResponse), any Error>
        }

        let limit: Int
        let redirects: Redirects
        private let state = Mutex<(transfers: [Int: Transfer], cancelledEarly: Set<Int>)>(([:], []))

        init(limit: Int, redirects: Redirects) {
            self.limit = limit
            self.redirects = redirects
        }

        static func origin(_ url: URL?) -> String? {
            guard let url, let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
            return "\(scheme)://\(host):\(url.port ?? (scheme == "https" ? 443 : 80))"
        }

        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
        ) {
            switch redirects {
            case .never: completionHandler(nil)
            case .sameOrigin:
                let from = Self.origin(task.originalRequest?.url ?? response.url)
                completionHandler(from != nil && from == Self.origin(request.url) ? request : nil)
            }
        }

        /// Registers the caller; false (and the caller resumed with CancellationError) if it was cancelled already.
        func start(_ id: Int, continuation: CheckedContinuation<(Data, URLResponse), any Error>) -> Bool {
            let cancelled = state.withLock { state -> Bool in
                if state.cancelledEarly.remove(id) != nil { return true }
                state.transfers[id] = Transfer(continuation: continuation)
                return false
            }
            if cancelled { continuation.resume(throwing: CancellationError()) }
            return !cancelled
        }

        func cancel(_ id: Int) {
            let transfer = state.withLock { state -> Transfer? in
                guard let transfer = state.transfers.removeValue(forKey: id) else {
                    state.cancelledEarly.insert(id)
                    return nil
                }
                return transfer
            }
            transfer?.continuation.resume(throwing: CancellationError())
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
        ) {
            let declaredTooLarge = response.expectedContentLength > Int64(limit)
            state.withLock {
                $0.transfers[dataTask.taskIdentifier]?.response = response
                if declaredTooLarge { $0.transfers[dataTask.taskIdentifier]?.tooLarge = true }
            }
            completionHandler(declaredTooLarge ? .cancel : .allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let overflow = state.withLock { state -> Bool in
                guard var transfer = state.transfers[dataTask.taskIdentifier], !transfer.tooLarge else { return false }
                if transfer.data.count + data.count > limit {
                    transfer.tooLarge = true
                    transfer.data = Data()
                } else {
                    transfer.data.append(data)
                }
                state.transfers[dataTask.taskIdentifier] = transfer
                return transfer.tooLarge
            }
            if overflow { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            guard let transfer = state.withLock({ $0.transfers.removeValue(forKey: task.taskIdentifier) }) else { return }
            if transfer.tooLarge {
                let status = (transfer.response as? HTTPURLResponse)?.statusCode
                transfer.continuation.resume(throwing: ResponseTooLarge(limit: limit, status: status))
            } else if let error {
                transfer.continuation.resume(throwing: error)
            } else if let response = transfer.response ?? task.response {
                transfer.continuation.resume(returning: (transfer.data, response))
            } else {
                transfer.continuation.resume(throwing: URLError(.badServerResponse))
            }
        }
    }
}
