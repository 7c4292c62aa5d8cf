import Foundation
import Synchronization

/// What a PSA answers that changes rarely — a status pick list, the order of its priorities — read at most once per
/// `lifetime` per account (an API user, an instance). A failed read is not remembered: the next call tries again.
/// At most `maxAccounts` are kept; past that the cache starts over rather than grow.
final class PSALookupCache<Value: Sendable>: Sendable {
    let lifetime: Duration
    let maxAccounts: Int
    private let entries = Mutex<[String: (value: Value, at: ContinuousClock.Instant)]>([:])

    init(lifetime: Duration = .seconds(3_600), maxAccounts: Int = 1_000) {
        self.lifetime = lifetime
        self.maxAccounts = maxAccounts
    }

    /// The value kept for `account` while fresh, else what `read` answers (kept); nil when `read` fails.
    func value(for account: String, read: () async -> Value?) async -> Value? {
        if let kept = entries.withLock({ $0[account] }), ContinuousClock.now - kept.at < lifetime { return kept.value }
        guard let value = await read() else { return nil }
        entries.withLock { entries in
            if entries.count >= maxAccounts, entries[account] == nil { entries.removeAll() }
            entries[account] = (value, .now)
        }
        return value
    }
}
