import Foundation

/// When a channel's daily digest is due: a local time of day in the channel's time zone (daylight saving included).
struct DigestSchedule: Equatable {
    var hour: Int
    var minute: Int
    var timeZone: TimeZone

    /// `HH:MM` (00:00–23:59) in an IANA time zone, or nil.
    init?(at text: String, timeZone name: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard text.utf8.count == 5, parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute),
            let zone = Self.timeZone(name)
        else { return nil }
        (self.hour, self.minute, timeZone) = (hour, minute, zone)
    }

    /// An IANA zone name (`Europe/Amsterdam`, `UTC`); abbreviations and offsets are refused, being ambiguous.
    static func timeZone(_ name: String) -> TimeZone? {
        guard name.utf8.count <= 64, name == "UTC" || TimeZone.knownTimeZoneIdentifiers.contains(name) else { return nil }
        return TimeZone(identifier: name)
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The first time after `now` the clock in the zone shows the digest's time (the next minute that exists, on the
    /// night the clocks go forward).
    func next(after now: Date) -> Date? {
        calendar.nextDate(
            after: now, matching: DateComponents(hour: hour, minute: minute, second: 0), matchingPolicy: .nextTime,
            repeatedTimePolicy: .first, direction: .forward)
    }

    /// The local day a digest sent at `date` is for: one digest per channel and day, however often it is decided.
    func day(of date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
