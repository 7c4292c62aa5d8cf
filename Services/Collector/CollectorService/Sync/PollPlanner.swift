import Foundation

/// What the collector remembers about one device between polls, to decide when to read its assets again.
struct DeviceSchedule: Sendable, Equatable {
    /// Datto time of the last successful read of the device's assets.
    var lastReadAt: Date?
    /// When the device should next be read: an agent's next backup is expected (or being waited for).
    var nextDueAt: Date?
    /// An agent's latest run failed: read it often, to see a retry or the recovery soon.
    var failing: Bool
}

/// Chooses which devices one scheduled poll reads when Datto's request budget cannot cover the whole fleet
/// (100 requests a minute per key: a 2,000-device fleet takes 20 minutes to read once).
///
/// A blind round-robin spends requests on devices with nothing new and finds a new failure only when its turn
/// comes round. Backups run on a schedule, so the collector first reads devices with an agent *due* — the
/// agent's next run, from its own cadence in the history Datto returns, should be there by now. Among due
/// devices the least recently read goes first: it holds the most runs not yet seen, and when more devices are
/// due than a poll can read (a whole fleet backing up in the same night window) the order is a round-robin over
/// the due devices, never worse than a blind one. Then devices never read, then failing ones, then the rest,
/// least recently read first; a share of every poll is kept for that last group so the whole fleet is still
/// read regularly (manual backups, changes nobody scheduled).
public enum PollPlanner {
    /// How a poll that cannot read every device picks the ones it reads.
    public enum Strategy: String, Sendable {
        /// Due devices first, then new, failing, and the least recently read (the default).
        case dueFirst = "due-first"
        /// The least recently read devices, nothing else: what a collector without a schedule does.
        case roundRobin = "round-robin"
    }

    /// Share of the budget that always goes to the least recently read devices.
    static let staleShare = 0.2

    static func plan(
        devices: [String], schedules: [String: DeviceSchedule], now: Date, budget: Int, strategy: Strategy = .dueFirst
    ) -> [String] {
        guard budget < devices.count else { return devices }
        if strategy == .roundRobin {
            // Never-read devices sort first (distantPast), then the longest unread.
            return Array(devices.sorted { (schedules[$0]?.lastReadAt ?? .distantPast) < (schedules[$1]?.lastReadAt ?? .distantPast) }
                .prefix(budget))
        }
        var due: [(String, Date)] = []
        var unread: [String] = []
        var failing: [(String, Date)] = []
        var rest: [(String, Date)] = []
        for serial in devices {
            guard let schedule = schedules[serial], let lastRead = schedule.lastReadAt else {
                unread.append(serial)
                continue
            }
            if let next = schedule.nextDueAt, next <= now {
                due.append((serial, lastRead))
            } else if schedule.failing {
                failing.append((serial, lastRead))
            } else {
                rest.append((serial, lastRead))
            }
        }
        let stale = rest.sorted { $0.1 < $1.1 }.map(\.0)
        let reserved = min(stale.count, Int((Double(budget) * staleShare).rounded(.up)))
        var chosen = due.sorted { $0.1 < $1.1 }.map(\.0) + unread + failing.sorted { $0.1 < $1.1 }.map(\.0)
        chosen = Array(chosen.prefix(max(0, budget - reserved)))
        let remaining = budget - chosen.count
        chosen += stale.prefix(remaining)
        return chosen
    }

    /// After reading a device: when one of its agents should next show a new run.
    ///
    /// Each agent's cadence is the median gap between its recent runs (a day when it has too few). The next
    /// expected run is the first slot after the read; while an expected run has not appeared yet (Datto lists a
    /// run once it has finished), the device is looked at again every `recheck` for up to `grace`.
    static func schedule(
        agents: [(runs: [(at: Date, succeeded: Bool)], active: Bool)], readAt: Date, recheck: TimeInterval = 900,
        grace: TimeInterval = 6 * 3_600
    ) -> DeviceSchedule {
        var next: Date?
        var failing = false
        for agent in agents where agent.active {
            let ordered = agent.runs.sorted { $0.at < $1.at }
            guard let newest = ordered.last else { continue }
            if !newest.succeeded { failing = true }
            let runs = ordered.map(\.at)
            let latest = newest.at
            let cadence = Self.cadence(of: runs)
            var expected = latest.addingTimeInterval(cadence)
            if expected <= readAt {
                // Late: keep looking for a while, then wait for the following slot.
                let late = readAt.timeIntervalSince(expected)
                if late < grace {
                    expected = readAt.addingTimeInterval(recheck)
                } else {
                    let slots = (late / cadence).rounded(.down) + 1
                    expected = expected.addingTimeInterval(slots * cadence)
                }
            }
            next = min(next ?? expected, expected)
        }
        return DeviceSchedule(lastReadAt: readAt, nextDueAt: next ?? readAt.addingTimeInterval(86_400), failing: failing)
    }

    /// Median gap between consecutive runs, between 15 minutes and 7 days; a day with fewer than two runs.
    static func cadence(of sortedRuns: [Date]) -> TimeInterval {
        guard sortedRuns.count >= 2 else { return 86_400 }
        let gaps = zip(sortedRuns.dropFirst(), sortedRuns).map { $0.timeIntervalSince($1) }.filter { $0 > 0 }.sorted()
        guard !gaps.isEmpty else { return 86_400 }
        return min(7 * 86_400, max(900, gaps[gaps.count / 2]))
    }
}
