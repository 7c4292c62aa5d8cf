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

/// Chooses which device a scheduled poll reads next when Datto's request budget cannot cover the whole fleet
/// (100 requests a minute per key: a 2,000-device fleet takes 20 minutes to read once).
///
/// A blind round-robin spends requests on devices with nothing new and finds a new failure only when its turn
/// comes round. Backups run on a schedule, so the collector first reads devices with an agent *due* — the
/// agent's next run, from its own cadence in the history Datto returns, should be there by now. Among due
/// devices the least recently read goes first: it holds the most runs not yet seen, and when more devices are
/// due than a poll can read (a whole fleet backing up in the same night window) the order is a round-robin over
/// the due devices, never worse than a blind one. Then devices never read, then failing ones, then the rest,
/// least recently read first; a share of every poll is kept for that last group so the whole fleet is still
/// read regularly (manual backups, changes nobody scheduled). The choice is made each time a request slot
/// frees up, not once per poll, so a device that falls due mid-poll waits for one slot, not for the next poll.
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

    /// The device to read next, decided when a request slot frees up rather than once per poll: a device that
    /// falls due while a poll is under way is read within that poll, ahead of everything not due. `pick` counts
    /// the reads this poll has started; every fifth goes to the least recently read device, so the whole fleet
    /// still comes round (the `staleShare`).
    static func next(
        from devices: some Collection<String>, schedules: [String: DeviceSchedule], now: Date, pick: Int, strategy: Strategy = .dueFirst
    ) -> String? {
        func lastRead(_ serial: String) -> Date { schedules[serial]?.lastReadAt ?? .distantPast }
        if strategy == .roundRobin { return devices.min { lastRead($0) < lastRead($1) } }
        var due: (String, Date)?
        var unread: String?
        var failing: (String, Date)?
        var stale: (String, Date)?
        for serial in devices {
            guard let schedule = schedules[serial], let read = schedule.lastReadAt else {
                unread = unread ?? serial
                continue
            }
            if let next = schedule.nextDueAt, next <= now {
                if read < due?.1 ?? .distantFuture { due = (serial, read) }
            } else if schedule.failing {
                if read < failing?.1 ?? .distantFuture { failing = (serial, read) }
            } else if read < stale?.1 ?? .distantFuture {
                stale = (serial, read)
            }
        }
        if pick % Int((1 / staleShare).rounded()) == Int((1 / staleShare).rounded()) - 1, let stale { return stale.0 }
        return due?.0 ?? unread ?? failing?.0 ?? stale?.0
    }

    /// Whether any of `devices` is due or was never read: what a poll reads before Datto's other surfaces.
    static func hasUrgent(_ devices: some Collection<String>, schedules: [String: DeviceSchedule], now: Date) -> Bool {
        devices.contains { serial in
            guard let schedule = schedules[serial], schedule.lastReadAt != nil else { return true }
            return schedule.nextDueAt.map { $0 <= now } ?? false
        }
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
