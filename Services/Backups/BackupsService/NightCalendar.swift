import Foundation
import VectisAPI

/// "A failed night": runs are grouped into nights by the tenant's time zone and a boundary hour (default noon
/// to noon, so a 23:00 and a 01:00 run are the same night). A night is named by the date it starts on.
public struct NightCalendar: Sendable, Equatable {
    public var timeZone: TimeZone
    /// The hour (0–23, local) at which one night ends and the next begins.
    public var boundaryHour: Int

    public init(timeZone: TimeZone = TimeZone(identifier: "UTC")!, boundaryHour: Int = 12) {
        self.timeZone = timeZone
        self.boundaryHour = boundaryHour
    }

    /// `YYYY-MM-DD` of the night `date` belongs to.
    public func night(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let shifted = date.addingTimeInterval(-Double(boundaryHour) * 3_600)
        let parts = calendar.dateComponents([.year, .month, .day], from: shifted)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The night `days` after `night` (before, when negative): plain date arithmetic, the same in every time zone.
    public static func night(_ night: String, adding days: Int) -> String? {
        let parts = night.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
            let moved = calendar.date(byAdding: .day, value: days, to: start)
        else { return nil }
        let out = calendar.dateComponents([.year, .month, .day], from: moved)
        return String(format: "%04d-%02d-%02d", out.year ?? 0, out.month ?? 0, out.day ?? 0)
    }

    /// The `count` nights ending with `last`, oldest first.
    public static func nights(endingWith last: String, count: Int) -> [String] {
        (0..<max(0, count)).reversed().compactMap { night(last, adding: -$0) }
    }
}

/// Night settings per tenant: a default, and overrides from `VECTIS_TENANT_NIGHTS`
/// (`{"msp-b": {"timeZone": "Europe/Berlin", "boundaryHour": 12, "rollUp": "last"}}`).
public struct NightSettings: Sendable {
    public var standard: NightCalendar
    public var tenants: [String: NightCalendar]
    /// How the grid rolls a night's runs into one cell (`VECTIS_GRID_ROLLUP`), and per tenant.
    public var rollUp: RollUp
    public var tenantRollUps: [String: RollUp]

    public init(
        standard: NightCalendar = NightCalendar(), tenants: [String: NightCalendar] = [:], rollUp: RollUp = .worst,
        tenantRollUps: [String: RollUp] = [:]
    ) {
        self.standard = standard
        self.tenants = tenants
        self.rollUp = rollUp
        self.tenantRollUps = tenantRollUps
    }

    public func calendar(for tenant: String) -> NightCalendar {
        tenants[tenant] ?? standard
    }
}
