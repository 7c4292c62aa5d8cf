import Foundation
import VectisAPI

/// A customer's monthly backup report: what an MSP hands a customer at a business review. Assembled from the
/// services' own read APIs (backups: the month's grid, rates and storage; alerts: the failures and how they ended;
/// rules: the tickets), so the console and the CLI build the same report from the same shapes.
public struct CustomerReport: Sendable {
    /// Who the report is from: the MSP's name and, optionally, its logo.
    public struct Branding: Sendable, Equatable {
        public var mspName: String
        /// A `data:image/png;base64,…` (or svg+xml, jpeg) URI, embedded so the page and its PDF stand alone.
        public var logoDataURI: String?

        public init(mspName: String, logoDataURI: String? = nil) {
            self.mspName = mspName
            self.logoDataURI = logoDataURI
        }
    }

    /// `YYYY-MM`.
    public var month: String
    public var generatedAt: Date
    public var branding: Branding
    public var grid: CustomerGrid
    public var backups: CustomerBackups
    /// The customer's alerts open at some time during the month, oldest first.
    public var alerts: [AlertView]
    /// Tickets opened or closed during the month, oldest first.
    public var tickets: [TicketView]

    public init(
        month: String, generatedAt: Date, branding: Branding, grid: CustomerGrid, backups: CustomerBackups, alerts: [AlertView],
        tickets: [TicketView]
    ) {
        self.month = month
        self.generatedAt = generatedAt
        self.branding = branding
        self.grid = grid
        self.backups = backups
        self.alerts = alerts
        self.tickets = tickets
    }

    /// "November 2026".
    public var monthTitle: String {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, (1...12).contains(parts[1]) else { return month }
        let names = [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"
        ]
        return "\(names[parts[1] - 1]) \(parts[0])"
    }

    /// The month's first instant and the next month's, in `timeZone`; nil for a malformed month.
    public static func bounds(of month: String, timeZone: TimeZone) -> (start: Date, end: Date)? {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard month.count == 7, parts.count == 2, (1900...2099).contains(parts[0]), (1...12).contains(parts[1]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        guard let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1)),
            let end = calendar.date(byAdding: .month, value: 1, to: start)
        else { return nil }
        return (start, end)
    }
}

extension CustomerReport.Branding {
    /// The largest logo embedded (a logo is a few kilobytes; a report must stay small).
    public static let maxLogoBytes = 512 << 10

    /// The MSP's name and the logo in the file at `logoPath` (PNG, JPEG or SVG, recognised by its content), or a
    /// `ReportError` saying what is wrong with the file.
    public static func load(mspName: String, logoPath: String?) throws -> Self {
        let name = mspName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let logoPath, !logoPath.isEmpty else { return Self(mspName: name) }
        let url = URL(fileURLWithPath: logoPath)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
        guard let size else { throw ReportError("The logo \(logoPath) cannot be read.") }
        guard size <= maxLogoBytes else { throw ReportError("The logo \(logoPath) is larger than \(maxLogoBytes >> 10) KiB.") }
        let data = try Data(contentsOf: url)
        let type: String
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            type = "image/png"
        } else if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            type = "image/jpeg"
        } else if String(decoding: data.prefix(512), as: UTF8.self).contains("<svg") {
            type = "image/svg+xml"
        } else {
            throw ReportError("The logo \(logoPath) is not a PNG, JPEG or SVG image.")
        }
        return Self(mspName: name, logoDataURI: "data:\(type);base64,\(data.base64EncodedString())")
    }
}
