import Foundation
import Testing

@testable import BackupsService

/// Days to full, by least squares over the storage samples.
@Suite("Appliance storage projection")
struct StorageProjectionTests {
    static let day = 86_400.0

    @Test("a steady fill projects its true full date; flat or shrinking use, or less than a day of samples, projects nothing")
    func projection() {
        // 1 TB of 10 TB, growing 100 GB a day: full 90 days after the first sample.
        let steady = (0..<10).map { (at: Double($0) * Self.day, used: 1e12 + 1e11 * Double($0)) }
        let full = ApplianceHealth.projectedFull(samples: steady, capacity: 1e13, now: 9 * Self.day)
        #expect(full.map { abs($0 - 90 * Self.day) < 1 } == true, "\(full.map { $0 / Self.day } ?? -1) days")
        #expect(ApplianceHealth.projectedFull(samples: steady.map { ($0.at, 5e12) }, capacity: 1e13, now: 9 * Self.day) == nil)
        #expect(
            ApplianceHealth.projectedFull(
                samples: steady.reversed().enumerated().map { (Double($0.offset) * Self.day, $0.element.used) }, capacity: 1e13,
                now: 9 * Self.day) == nil)
        #expect(ApplianceHealth.projectedFull(samples: Array(steady.prefix(2)), capacity: 1e13, now: Self.day) == nil, "too few")
        #expect(
            ApplianceHealth.projectedFull(samples: steady.map { ($0.at / 100, $0.used) }, capacity: 1e13, now: Self.day) == nil,
            "under a day")
        // Already past full (a sample over capacity): full now, never in the past.
        #expect(ApplianceHealth.projectedFull(samples: steady, capacity: 1.5e12, now: 9 * Self.day) == 9 * Self.day)
        #expect(
            ApplianceHealth.projectionText(fullAt: Date(timeIntervalSince1970: 9.4 * Self.day), now: Date(timeIntervalSince1970: 0))
                == "full in about 9 days")
        #expect(
            ApplianceHealth.projectionText(fullAt: Date(timeIntervalSince1970: 100), now: Date(timeIntervalSince1970: 0))
                == "full within a day")
        #expect(ApplianceHealth.projectionText(fullAt: nil, now: Date()) == "not filling up")
    }

    @Test("after space is freed only the samples since then count")
    func cleanup() {
        let before = (0..<5).map { (at: Double($0) * Self.day, used: 8e12 + 1e11 * Double($0)) }
        let after = (5..<10).map { (at: Double($0) * Self.day, used: 2e12 + 1e10 * Double($0 - 5)) }
        let kept = ApplianceHealth.sinceLastCleanup(before + after, capacity: 1e13)
        #expect(kept.count == 5 && kept.first?.used == 2e12)
        #expect(ApplianceHealth.sinceLastCleanup(before, capacity: 1e13).count == 5)
    }
}
