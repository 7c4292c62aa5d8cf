import Foundation
import Testing

@testable import CollectorService

/// Which appliances' own Datto alerts a sync reads, and how a hostile alert list is read.
@Suite("Datto device alert reads")
struct DeviceAlertReadsTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    @Test(
        "only appliances with alerts are read, least recently read first, within a tenth of a budgeted poll; a count fallen to 0 clears without a read"
    )
    func plan() {
        let counts: [String: Int?] = ["A": 2, "B": 1, "C": 0, "D": nil, "E": 3, "F": 0]
        let stored: [String: (count: Int, readAt: Date)] = [
            "A": (2, Self.now - 60), "B": (1, Self.now - 3_600), "C": (4, Self.now - 60), "F": (0, Self.now - 60)
        ]
        let full = DeviceAlertReads.plan(alertCounts: counts, stored: stored, budget: nil, now: Self.now)
        #expect(full.read == ["E", "B", "A"], "never read first, then the least recently read; nil counts are not read")
        #expect(full.cleared == ["C"], "C had alerts and now has none; F had none")
        // A scheduled poll: A was read a minute ago with the same count, so it waits; B's list is an hour old.
        #expect(DeviceAlertReads.plan(alertCounts: counts, stored: stored, budget: 20, now: Self.now).read == ["E", "B"], "10% of 20")
        #expect(DeviceAlertReads.plan(alertCounts: counts, stored: stored, budget: 3, now: Self.now).read == ["E"], "at least one")
        #expect(
            DeviceAlertReads.plan(alertCounts: counts, stored: stored, budget: 100, now: Self.now).read == ["E", "B"],
            "A is not read again while its count stays 2 and its list is younger than an hour")
        var changed = counts
        changed["A"] = 3
        #expect(
            DeviceAlertReads.plan(alertCounts: changed, stored: stored, budget: 100, now: Self.now).read == ["E", "B", "A"],
            "a changed alertCount is read at once")
    }

    @Test("an alert without a type is skipped, numbers out of range read as none, text is cut to one line")
    func hostile() throws {
        let body = Data(
            """
            {"pagination": {"page": 1, "perPage": 100, "totalPages": 1, "count": 4},
             "items": [{"type": "Device Not Seen Alert", "threshold": 60, "unit": "Minutes", "dateTriggered": "2026-11-30T10:00:00+00:00"},
                       {"threshold": 5},
                       {"type": "Low\\nStorage \(String(repeating: "x", count: 500))", "threshold": 1e300, "unit": "Percent", "dateTriggered": 0},
                       {"type": ""}]}
            """.utf8)
        let page = try JSONDecoder().decode(DattoPage<DattoDeviceAlert>.self, from: body)
        #expect(page.items.count == 2 && page.skipped.count == 2)
        #expect(page.items[0].type == "Device Not Seen Alert" && page.items[0].threshold == 60 && page.items[0].dateTriggered != nil)
        let hostile = page.items[1]
        #expect(hostile.type.hasPrefix("LowStorage x") && hostile.type.count == 120 && !hostile.type.contains("\n"))
        #expect(hostile.threshold == nil && hostile.dateTriggered == nil)
    }
}
