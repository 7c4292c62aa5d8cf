import Foundation
import Testing

@testable import CollectorService

/// Which device a budget-bound poll reads next, and when a device falls due again.
@Suite("Poll planning")
struct PollPlannerTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func schedule(readHoursAgo: Double?, dueInHours: Double?, failing: Bool = false) -> DeviceSchedule {
        DeviceSchedule(
            lastReadAt: readHoursAgo.map { now - $0 * 3_600 }, nextDueAt: dueInHours.map { now + $0 * 3_600 }, failing: failing)
    }

    @Test("due devices first (least recently read among them), then never read, then failing, then the rest")
    func order() {
        let schedules = [
            "due-recent": Self.schedule(readHoursAgo: 1, dueInHours: -0.1),
            "due-old": Self.schedule(readHoursAgo: 5, dueInHours: -0.1),
            "failing": Self.schedule(readHoursAgo: 9, dueInHours: 3, failing: true),
            "quiet": Self.schedule(readHoursAgo: 20, dueInHours: 3)
        ]
        let all = ["quiet", "failing", "due-recent", "due-old", "new"]
        #expect(PollPlanner.next(from: all, schedules: schedules, now: Self.now, pick: 0) == "due-old")
        #expect(PollPlanner.next(from: all.filter { !$0.hasPrefix("due") }, schedules: schedules, now: Self.now, pick: 0) == "new")
        #expect(PollPlanner.next(from: ["quiet", "failing"], schedules: schedules, now: Self.now, pick: 0) == "failing")
        #expect(PollPlanner.next(from: ["quiet"], schedules: schedules, now: Self.now, pick: 0) == "quiet")
        #expect(PollPlanner.next(from: [String](), schedules: schedules, now: Self.now, pick: 0) == nil)
    }

    @Test("every fifth read goes to the least recently read device, so the whole fleet still comes round")
    func staleShare() {
        let schedules = [
            "due": Self.schedule(readHoursAgo: 1, dueInHours: -0.1),
            "quiet": Self.schedule(readHoursAgo: 20, dueInHours: 3)
        ]
        let picks = (0..<10).map { PollPlanner.next(from: ["due", "quiet"], schedules: schedules, now: Self.now, pick: $0) }
        #expect(picks.filter { $0 == "quiet" }.count == 2)
        #expect(picks[4] == "quiet" && picks[9] == "quiet")
        // Round-robin ignores the schedule: least recently read, always.
        #expect(PollPlanner.next(from: ["due", "quiet"], schedules: schedules, now: Self.now, pick: 0, strategy: .roundRobin) == "quiet")
    }

    @Test("a nightly agent is next due a day after its latest run; a late one is rechecked, then waits for its next slot")
    func nextDue() {
        let nightly = (0..<5).map { (at: Self.now - Double(5 - $0) * 86_400 + 3_600, succeeded: true) }  // latest 1 h after now - 1 day
        let onTime = PollPlanner.schedule(agents: [(runs: nightly, active: true)], readAt: Self.now)
        #expect(onTime.nextDueAt == nightly.last!.at + 86_400)
        #expect(!onTime.failing)
        // Expected 2 h ago and not there yet: look again in 15 minutes.
        let late = PollPlanner.schedule(agents: [(runs: nightly, active: true)], readAt: nightly.last!.at + 86_400 + 7_200)
        #expect(late.nextDueAt == nightly.last!.at + 86_400 + 7_200 + 900)
        // Expected 10 h ago (past the 6-h grace): the following night's slot.
        let given = PollPlanner.schedule(agents: [(runs: nightly, active: true)], readAt: nightly.last!.at + 86_400 + 36_000)
        #expect(given.nextDueAt == nightly.last!.at + 2 * 86_400)
        // A failed latest run marks the device failing; paused agents count for nothing; no runs: a day later.
        var failed = nightly
        failed[failed.count - 1].succeeded = false
        #expect(PollPlanner.schedule(agents: [(runs: failed, active: true)], readAt: Self.now).failing)
        #expect(!PollPlanner.schedule(agents: [(runs: failed, active: false)], readAt: Self.now).failing)
        #expect(PollPlanner.schedule(agents: [], readAt: Self.now).nextDueAt == Self.now + 86_400)
    }

    @Test("cadence is the median gap, held between 15 minutes and 7 days, a day with too few runs")
    func cadence() {
        let hourly = (0..<6).map { Self.now + Double($0) * 3_600 }
        #expect(PollPlanner.cadence(of: hourly) == 3_600)
        #expect(PollPlanner.cadence(of: [Self.now, Self.now + 60]) == 900)
        #expect(PollPlanner.cadence(of: [Self.now, Self.now + 30 * 86_400]) == 7 * 86_400)
        #expect(PollPlanner.cadence(of: [Self.now]) == 86_400)
        #expect(PollPlanner.cadence(of: [Self.now, Self.now]) == 86_400, "duplicate timestamps are no gap")
    }
}
