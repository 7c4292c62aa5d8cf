import Foundation

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
}

/// Night settings per tenant: a default, and overrides from `VECTIS_TENANT_NIGHTS`
/// (`{"msp-b": {"timeZone": "Europe/Berlin", "boundaryHour": 12}}`).
public struct NightSettings: Sendable {
    public var standard: NightCalendar
    public var tenants: [String: NightCalendar]

    public init(standard: NightCalendar = NightCalendar(), tenants: [String: NightCalendar] = [:]) {
        self.standard = standard
        self.tenants = tenants
    }

    public func calendar(for tenant: String) -> NightCalendar {
        tenants[tenant] ?? standard
    }
}
