import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// At most `limit` requests in any `window`, per API key: Datto meters each key, so every request (retries
/// included) takes a slot, and a caller waits for one rather than being refused.
public actor RequestRateLimiter {
    public nonisolated let limit: Int
    public nonisolated let window: Duration
    /// Requests reach Datto a little after they leave; counting them a little longer keeps Datto's own
    /// window from ever seeing one too many.
    private let margin: Duration
    private var sent: [ContinuousClock.Instant] = []
    /// Where the window is kept across restarts (wall-clock times of the requests in it), or nil.
    private let stateFile: String?
    private let logger: Logger?
    /// A state file that cannot be written is said once, not on every request.
    private var saveFailureReported = false

    /// With `stateFile`, the requests of the current window survive a restart: a service restarted within the
    /// window does not spend a second budget in it (Datto counts per key, not per process).
    public init(
        limit: Int, window: Duration = .seconds(60), margin: Duration = .milliseconds(500), stateFile: String? = nil,
        logger: Logger? = nil
    ) {
        self.limit = max(1, limit)
        self.window = window
        self.margin = margin
        self.stateFile = stateFile
        self.logger = logger
        if let stateFile { sent = Self.load(stateFile, window: window + margin, logger: logger) }
    }

    /// The saved window, as instants on this process's clock; anything unreadable or out of range is ignored (and
    /// said: the budget starts empty, so this process may spend a window's requests twice).
    private static func load(_ path: String, window: Duration, logger: Logger?) -> [ContinuousClock.Instant] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let times: [Double]
        do {
            guard data.count < 1 << 20 else { throw CocoaError(.fileReadTooLarge) }
            times = try JSONDecoder().decode([Double].self, from: data)
        } catch {
            logger?.warning("request budget file unreadable; starting an empty window", metadata: ["file": "\(path)", "error": "\(error)"])
            return []
        }
        let wallNow = Date().timeIntervalSince1970
        let windowSeconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
        let now = ContinuousClock.now
        return times.filter { $0.isFinite && $0 <= wallNow && wallNow - $0 < windowSeconds }.sorted()
            .map { now - .milliseconds(Int64(((wallNow - $0) * 1_000).rounded())) }
    }

    private func save() {
        guard let stateFile else { return }
        let wallNow = Date().timeIntervalSince1970
        let now = ContinuousClock.now
        let times = sent.map { instant -> Double in
            let age = now - instant
            return wallNow - (Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18)
        }
        // Encoding an array of finite doubles cannot fail; the file system can.
        let data = (try? JSONEncoder().encode(times)) ?? Data("[]".utf8)
        let temporary = stateFile + ".tmp"
        // rename(2): atomic, and the file is never seen half-written.
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]),
            rename(temporary, stateFile) == 0
        else {
            if !saveFailureReported {
                saveFailureReported = true
                logger?.warning(
                    "request budget file cannot be written; a restart may spend this window's requests again",
                    metadata: ["file": "\(stateFile)", "errno": "\(errno)"])
            }
            return
        }
        saveFailureReported = false
    }

    /// Returns when a request may go out now, and counts it; the answer is its place in the window, for `answered`.
    @discardableResult
    public func acquire() async throws -> ContinuousClock.Instant {
        while true {
            let now = ContinuousClock.now
            sent.removeAll { now - $0 >= window + margin }
            if sent.count < limit {
                sent.append(now)
                save()
                return now
            }
            // Sleep until the oldest request leaves the window. Actor reentrancy is fine: we re-check after.
            try await Task.sleep(until: sent[0] + window + margin, clock: .continuous)
        }
    }

    /// The request counted at `slot` has been answered: it is counted from now instead, since the API counted it when it
    /// arrived, which may have been long after it was counted here (a busy machine, a slow connection).
    public func answered(_ slot: ContinuousClock.Instant) {
        guard let index = sent.firstIndex(of: slot) else { return }
        sent.remove(at: index)
        sent.append(.now)
        save()
    }

    /// Seconds until `count` more requests could all have gone out at the budget's pace, counting the requests
    /// already in the window (0 when they fit now): a sync's remaining time when the budget, not Datto, is the limit.
    public func secondsToSend(_ count: Int) -> Double {
        let now = ContinuousClock.now
        sent.removeAll { now - $0 >= window + margin }
        let free = limit - sent.count
        guard count > free else { return 0 }
        // The k-th request beyond what fits now waits for the k-th oldest slot, then whole windows after that.
        let beyond = count - free - 1
        let slot = sent.isEmpty ? now : sent[beyond % sent.count]
        let cycles = beyond / max(1, limit)
        let ready = slot + (window + margin) * (cycles + 1)
        let wait = ready - now
        return max(0, Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
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
                save()
                return nil
            }
            let free = sent[0] + window + margin
            if free > deadline { return free - now }
            try await Task.sleep(until: free, clock: .continuous)
        }
    }
}
