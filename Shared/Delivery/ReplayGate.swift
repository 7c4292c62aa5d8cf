import Foundation
import VectisContracts

/// Decides which replay requests an owner serves, so a flood of requests (forged or from a confused peer) can
/// neither melt the bus nor starve real catch-up:
///
/// - only requesters whose own heartbeat came through the bus recently are served (a stream nobody runs is not
///   a requester);
/// - each requester has its own token bucket, so one noisy requester cannot use up everybody's share;
/// - a (requester, topic) just served is not served again until the requester could have noticed the result;
/// - the owner re-sends at most `rowsPerSecond` rows (bursts of twice that), whoever asks.
///
/// Not thread-safe: the relay keeps it under its lock.
struct ReplayGate {
    enum Refusal: String, CaseIterable, Sendable {
        case notLive = "requester_not_live"
        case requesterThrottled = "requester_throttled"
        case recentlyServed = "recently_served"
    }

    struct Bucket {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    let requestsPerSecond: Double
    let burst: Double
    let rowsPerSecond: Double
    let cooldown: Duration
    /// Most requesters tracked; the stalest go first (bounded memory whatever streams appear).
    let maxRequesters = 1_024

    private(set) var liveUntil: [String: ContinuousClock.Instant] = [:]
    private var buckets: [String: Bucket] = [:]
    private var served: [String: ContinuousClock.Instant] = [:]
    private var rows: Bucket

    init(requestsPerSecond: Double, burst: Double, rowsPerSecond: Double, cooldown: Duration) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst
        self.rowsPerSecond = rowsPerSecond
        self.cooldown = cooldown
        rows = Bucket(tokens: rowsPerSecond * 2, refilledAt: .now)
    }

    /// A requester's heartbeat arrived: it counts as live for three of its intervals.
    mutating func heartbeat(from stream: String, interval: Duration, now: ContinuousClock.Instant = .now) {
        liveUntil[stream] = now + interval * 3
        if liveUntil.count > maxRequesters {
            for (key, until) in liveUntil where until < now { liveUntil[key] = nil }
        }
        if liveUntil.count > maxRequesters, let oldest = liveUntil.min(by: { $0.value < $1.value })?.key {
            liveUntil[oldest] = nil
        }
    }

    /// Whether to queue `request` now (nil), or why not.
    mutating func admit(_ request: BusReplayRequested, now: ContinuousClock.Instant = .now) -> Refusal? {
        guard let until = liveUntil[request.requestedBy], until >= now else { return .notLive }
        let servedKey = request.requestedBy + "\u{1F}" + request.topic
        if let last = served[servedKey], now - last < cooldown { return .recentlyServed }
        var bucket = buckets[request.requestedBy] ?? Bucket(tokens: burst, refilledAt: now)
        Self.refill(&bucket, rate: requestsPerSecond, cap: burst, now: now)
        guard bucket.tokens >= 1 else {
            buckets[request.requestedBy] = bucket
            return .requesterThrottled
        }
        bucket.tokens -= 1
        buckets[request.requestedBy] = bucket
        if buckets.count > maxRequesters { buckets = buckets.filter { liveUntil[$0.key] != nil } }
        return nil
    }

    /// How many rows may be re-sent now (0: wait).
    mutating func rowAllowance(now: ContinuousClock.Instant = .now) -> Int {
        Self.refill(&rows, rate: rowsPerSecond, cap: rowsPerSecond * 2, now: now)
        return Int(rows.tokens.rounded(.down))
    }

    mutating func spend(rows count: Int, for request: BusReplayRequested, now: ContinuousClock.Instant = .now) {
        rows.tokens -= Double(count)
        served[request.requestedBy + "\u{1F}" + request.topic] = now
        if served.count > maxRequesters * 16 { served = served.filter { now - $0.value < cooldown } }
    }

    private static func refill(_ bucket: inout Bucket, rate: Double, cap: Double, now: ContinuousClock.Instant) {
        let elapsed = now - bucket.refilledAt
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        bucket.refilledAt = now
        bucket.tokens = min(cap, bucket.tokens + rate * max(0, seconds))
    }
}
