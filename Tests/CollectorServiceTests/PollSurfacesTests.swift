import Foundation
import Testing

@testable import CollectorService

/// How a budgeted poll shares Datto's requests between backup runs and the other surfaces the key sees.
@Suite("Poll surfaces")
struct PollSurfacesTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// `count` devices as Datto lists them, the first `withAlerts` with an alert of their own.
    static func devices(_ count: Int, withAlerts: Int = 0) throws -> [DattoDevice] {
        try (0..<count).map { index in
            try JSONDecoder().decode(
                DattoDevice.self, from: Data(#"{"serialNumber": "D\#(index)", "alertCount": \#(index < withAlerts ? 1 : 0)}"#.utf8))
        }
    }

    @Test("without a budget (the first sync, Sync now) everything is read")
    func unbounded() throws {
        let plan = PollSurfaces.plan(listed: try Self.devices(50, withAlerts: 5), known: .init(now: Self.now), budget: nil, listCost: 1)
        #expect(plan.deviceReads == nil && plan.saasReads == nil && plan.endpointPages == nil)
        #expect(plan.alerts.read.count == 5)
    }

    @Test(
        "a 2,000-device fleet under 450 requests: alerts at most 10%, each SaaS domain once an hour (at most 20%), the endpoint pages, the rest for backup runs"
    )
    func shares() throws {
        let known = PollSurfaces.Known(
            saasDomains: 200, saasReadAt: Self.now - 600, endpoints: 2_000, endpointsReadAt: Self.now - 600, now: Self.now)
        let plan = PollSurfaces.plan(listed: try Self.devices(2_000, withAlerts: 200), known: known, budget: 450, listCost: 20)
        #expect(plan.alerts.read.count == 45)
        #expect(plan.saasReads == 1 + 17, "the list and 200 domains / 12 polls an hour")
        #expect(plan.endpointPages == 20)
        #expect(plan.deviceReads == 450 - 20 - 45 - 18 - 20)
        // Two thousand domains would take more than their share: 20% of the poll, no more.
        var many = known
        many.saasDomains = 2_000
        #expect(PollSurfaces.plan(listed: try Self.devices(2_000), known: many, budget: 450, listCost: 20).saasReads == 90)
        // Few domains and endpoints take only what they need.
        let small = PollSurfaces.Known(saasDomains: 3, saasReadAt: Self.now, endpoints: 150, endpointsReadAt: Self.now, now: Self.now)
        let smallPlan = PollSurfaces.plan(listed: try Self.devices(2_000), known: small, budget: 450, listCost: 20)
        #expect(smallPlan.saasReads == 2 && smallPlan.endpointPages == 2 && smallPlan.deviceReads == 450 - 20 - 2 - 2)
    }

    @Test("a surface the key had none of costs nothing, and is looked for again once an hour has passed")
    func lookAgain() throws {
        let recent = PollSurfaces.Known(saasReadAt: Self.now - 600, endpointsReadAt: Self.now - 600, now: Self.now)
        let plan = PollSurfaces.plan(listed: try Self.devices(100), known: recent, budget: 50, listCost: 1)
        #expect(plan.saasReads == 0 && plan.endpointPages == 0 && plan.deviceReads == 49)
        let old = PollSurfaces.Known(saasReadAt: Self.now - 3_600, endpointsReadAt: nil, now: Self.now)
        let later = PollSurfaces.plan(listed: try Self.devices(100), known: old, budget: 50, listCost: 1)
        #expect(later.saasReads == 1 && later.endpointPages == 1 && later.deviceReads == 47)
    }

    @Test("a budget that covers every device leaves the rest to SaaS domains beyond their share")
    func spare() throws {
        let known = PollSurfaces.Known(saasDomains: 100, saasReadAt: Self.now, endpointsReadAt: Self.now, now: Self.now)
        let plan = PollSurfaces.plan(listed: try Self.devices(10), known: known, budget: 100, listCost: 1)
        // 1 + 9 set aside (100 domains over 12 polls), 100 - 1 - 10 - 10 devices = 79 more.
        #expect(plan.saasReads == 10 + 79)
        #expect(plan.deviceReads == 89)
    }

    @Test("a poll reads the other surfaces only once no device is due or unread")
    func urgency() {
        let now = Self.now
        let quiet = DeviceSchedule(lastReadAt: now - 600, nextDueAt: now + 600, failing: true)
        let due = DeviceSchedule(lastReadAt: now - 600, nextDueAt: now - 1, failing: false)
        #expect(!PollPlanner.hasUrgent(["a"], schedules: ["a": quiet], now: now), "failing but not due")
        #expect(PollPlanner.hasUrgent(["a", "b"], schedules: ["a": quiet, "b": due], now: now))
        #expect(PollPlanner.hasUrgent(["a", "new"], schedules: ["a": quiet], now: now), "never read")
        #expect(!PollPlanner.hasUrgent([String](), schedules: [:], now: now))
    }
}
