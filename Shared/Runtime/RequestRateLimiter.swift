import Foundation

/// At most `limit` requests in any `window`, per API key: Datto meters each key, so every request (retries
/// included) takes a slot, and a caller waits for one rather than being refused.
public actor RequestRateLimiter {
    public let limit: Int
    public let window: Duration
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
}
