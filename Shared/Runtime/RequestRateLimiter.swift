import Foundation

/// At most `limit` requests in any `window`, per API key: Datto meters each key, so every request (retries
/// included) takes a slot, and a caller waits for one rather than being refused.
public actor RequestRateLimiter {
    public nonisolated let limit: Int
    public nonisolated let window: Duration
    /// Requests reach Datto a little after they leave; counting them a little longer keeps Datto's own
    /// window from ever seeing one too many.
    private let margin: Duration
    private var sent: [ContinuousClock.Instant] = []

    public init(limit: Int, window: Duration = .seconds(60), margin: Duration = .milliseconds(500)) {
        self.limit = max(1, limit)
        self.window = window
        self.margin = margin
    }

    /// Returns when a request may go out now, and counts it.
    public func acquire() async throws {
        while true {
            let now = ContinuousClock.now
            sent.removeAll { now - $0 >= window + margin }
            if sent.count < limit {
                sent.append(now)
                return
            }
            // Sleep until the oldest request leaves the window. Actor reentrancy is fine: we re-check after.
            try await Task.sleep(until: sent[0] + window + margin, clock: .continuous)
        }
    }

    /// Like `acquire()` for someone waiting at a screen: takes a slot if one frees up within `longest`, and
    /// otherwise counts nothing and returns how long until one would (nil means the request may go out).
    public func acquire(waitingAtMost longest: Duration) async throws -> Duration? {
        let deadline = ContinuousClock.now + longest
        while true {
            let now = ContinuousClock.now
            sent.removeAll { now - $0 >= window + margin }
            if sent.count < limit {
                sent.append(now)
                return nil
            }
            let free = sent[0] + window + margin
            if free > deadline { return free - now }
            try await Task.sleep(until: free, clock: .continuous)
        }
    }
}
