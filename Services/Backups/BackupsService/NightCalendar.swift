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
    ///
    /// Every recorded run asks this: the date is worked out from the zone's offset at that instant with integer
    /// arithmetic (a `Calendar` and `String(format:)` per run were a twentieth of the backups service's time on the
    /// pipeline). Years before 1583 (Foundation's Gregorian calendar is Julian before October 1582) and after 9999 go
    /// the calendar's way.
    public func night(of date: Date) -> String {
        let shifted = date.addingTimeInterval(-Double(boundaryHour) * 3_600)
        let local = shifted.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: shifted))
        // 1583-01-01 to 9999-12-31 only; the calendar takes anything else (and a NaN never reaches an integer conversion).
        guard local >= -12_212_553_600, local < 253_402_300_800 else { return calendarNight(of: date) }
        let (year, month, day) = Self.civil(days: Int64((local / 86_400).rounded(.down)))
        return Self.name(year: year, month: month, day: day)
    }

    /// The same answer through `Calendar`, for what `night(of:)` does not compute itself (and to check it against).
    func calendarNight(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let shifted = date.addingTimeInterval(-Double(boundaryHour) * 3_600)
        let parts = calendar.dateComponents([.year, .month, .day], from: shifted)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The night `days` after `night` (before, when negative): plain (proleptic Gregorian) date arithmetic, the same in
    /// every time zone; nil for anything but `YYYY-MM-DD` or a result outside 0000–9999.
    public static func night(_ night: String, adding days: Int) -> String? {
        let parts = night.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
            let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]), (1...12).contains(month),
            (1...31).contains(day), (-100_000...100_000).contains(days)
        else { return nil }
        let (movedYear, movedMonth, movedDay) = civil(days: Self.days(year: year, month: month, day: day) + Int64(days))
        guard (0...9_999).contains(movedYear) else { return nil }
        return name(year: movedYear, month: movedMonth, day: movedDay)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`); a day past the
    /// month's end rolls into the next month, as `Calendar` does.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `YYYY-MM-DD` for a year of 0–9999.
    static func name(year: Int64, month: Int64, day: Int64) -> String {
        var bytes = [UInt8](repeating: UInt8(ascii: "-"), count: 10)
        func put(_ value: Int64, at index: Int, width: Int) {
            var value = value
            for offset in stride(from: width - 1, through: 0, by: -1) {
                bytes[index + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            }
        }
        put(year, at: 0, width: 4)
        put(month, at: 5, width: 2)
        put(day, at: 8, width: 2)
        return String(decoding: bytes, as: UTF8.self)
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
