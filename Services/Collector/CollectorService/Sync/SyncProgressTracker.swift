import Foundation
import Synchronization
import VectisContracts
import VectisRuntime

/// How far one sync has come, and when it should finish: devices read of the devices it will read, and the time
/// left from the recent pace or from the key's request budget, whichever is longer. A budget-bound sync reads in
/// bursts, one window's requests at a time: the budget says when the last burst can go, the recent pace how long the
/// reads themselves take (the pace since the start would count the waits twice).
final class SyncProgressTracker: Sendable {
    let syncId: String
    let limiter: RequestRateLimiter?
    private let startedAt = Date()
    private struct State {
        var read = 0
        var total = 0
        /// When the latest reads finished (at most `recent`), for the recent pace.
        var finishedAt: [ContinuousClock.Instant] = []
    }
    private static let recent = 32
    private let state = Mutex(State())

    init(syncId: String, limiter: RequestRateLimiter?) {
        self.syncId = syncId
        self.limiter = limiter
    }

    func devices(read: Int, of total: Int) {
        state.withLock { state in
            if read > state.read {
                state.finishedAt.append(.now)
                if state.finishedAt.count > Self.recent { state.finishedAt.removeFirst(state.finishedAt.count - Self.recent) }
            }
            state.read = max(state.read, read)
            state.total = max(0, total)
        }
    }

    /// The progress now; `finished` makes it 100%.
    func snapshot(requests: Int, finished: Bool) async -> CollectorSyncProgress {
        let (read, total, recent) = state.withLock { ($0.read, $0.total, $0.finishedAt) }
        let now = Date()
        if finished {
            return CollectorSyncProgress(
                syncId: syncId, startedAt: startedAt, devicesRead: read, devicesTotal: total, requests: requests, percent: 100,
                secondsLeft: 0, estimatedFinishAt: now, finishedAt: now)
        }
        var left: Double?
        if read > 0, total >= read, let first = recent.first {
            // The median gap between the latest reads: a wait for the budget between two bursts is one gap, not
            // the typical one (a single read so far: as long as it has been since it finished).
            func seconds(_ duration: Duration) -> Double {
                Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            let gaps = zip(recent.dropFirst(), recent).map { seconds($1.duration(to: $0)) }.sorted()
            let gap = gaps.isEmpty ? seconds(first.duration(to: .now)) : gaps[gaps.count / 2]
            let pace = Double(total - read) * gap
            let budget = await limiter?.secondsToSend(total - read) ?? 0
            left = max(pace, budget)
        }
        return CollectorSyncProgress(
            syncId: syncId, startedAt: startedAt, devicesRead: read, devicesTotal: total, requests: requests,
            percent: total > 0 ? min(99, read * 100 / total) : 0, secondsLeft: left.map { ($0 * 10).rounded() / 10 },
            estimatedFinishAt: left.map { now.addingTimeInterval($0) })
    }
}
