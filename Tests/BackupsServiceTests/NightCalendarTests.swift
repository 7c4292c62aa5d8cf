import Foundation
import Testing
import VectisTestSupport

@testable import BackupsService

/// Which night a run belongs to is worked out with integer arithmetic from the zone's offset; it must name the same
/// night `Calendar` names, in every zone (DST, half-hour and 45-minute offsets, the date line) and at every boundary.
@Suite("Nights by integer arithmetic equal Calendar's")
struct NightCalendarTests {
    static let zones = [
        "UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Kiritimati",
        "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham", "America/Sao_Paulo"
    ]

    @Test("any instant from 1900 to 2200, any of ten zones, boundary hours 0, 12 and 23", arguments: zones)
    func sameNight(zone: String) throws {
        var random = SplitMix64(state: UInt64(zone.utf8.reduce(0) { $0 &* 31 &+ UInt64($1) }))
        let timeZone = try #require(TimeZone(identifier: zone))
        for hour in [0, 12, 23] {
            let calendar = NightCalendar(timeZone: timeZone, boundaryHour: hour)
            for _ in 0..<2_000 {
                // From 1900 to 2200, and some right at a boundary hour or a DST change (whole hours).
                var seconds = -2_208_988_800 + Double(random.next() % 9_467_280_000)
                if random.next() % 4 == 0 { seconds = (seconds / 3_600).rounded(.down) * 3_600 }
                let date = Date(timeIntervalSince1970: seconds)
                #expect(calendar.night(of: date) == calendar.calendarNight(of: date), "\(date) in \(zone), boundary \(hour)")
            }
        }
    }

    @Test("instants before the Gregorian calendar's start, far in the future, or not numbers at all are named as Calendar names them")
    func outsideTheFastPath() {
        let calendar = NightCalendar(timeZone: TimeZone(identifier: "Europe/Amsterdam")!, boundaryHour: 12)
        for seconds in [-30_610_224_000.0, -12_212_553_601, -12_212_553_600, 253_402_300_799, 253_402_300_800, 1e15, -1e15] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(calendar.night(of: date) == calendar.calendarNight(of: date), "\(seconds)")
        }
        // A NaN or infinite instant (a hostile number that became a date) is named without trapping.
        _ = calendar.night(of: Date(timeIntervalSince1970: .nan))
        _ = calendar.night(of: Date(timeIntervalSince1970: .infinity))
    }

    @Test("adding nights: across months, leap days and centuries, as Calendar counts; nonsense is nil")
    func adding() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var random = SplitMix64(state: 7)
        for _ in 0..<5_000 {
            let start = Date(timeIntervalSince1970: -2_208_988_800 + Double(random.next() % 9_467_280_000))
            let days = Int(random.next() % 2_000) - 1_000
            let parts = calendar.dateComponents([.year, .month, .day], from: start)
            let night = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            let moved = calendar.dateComponents([.year, .month, .day], from: calendar.date(byAdding: .day, value: days, to: start)!)
            #expect(NightCalendar.night(night, adding: days) == String(format: "%04d-%02d-%02d", moved.year!, moved.month!, moved.day!))
        }
        #expect(NightCalendar.night("2024-02-28", adding: 1) == "2024-02-29")
        #expect(NightCalendar.night("2100-02-28", adding: 1) == "2100-03-01")
        #expect(NightCalendar.night("2026-02-31", adding: 0) == "2026-03-03", "a day past the month's end rolls over")
        for nonsense in ["", "2026-13-01", "2026-00-10", "x-y-z", "2026-1-5", "99999-01-01", "2026-01-01-01", "2026-+1-01", "+026-01-01"] {
            #expect(NightCalendar.night(nonsense, adding: 1) == nil, "\(nonsense)")
        }
        #expect(NightCalendar.night("2026-01-01", adding: Int.max) == nil)
        #expect(NightCalendar.night("9999-12-31", adding: 1) == nil)
    }
}
