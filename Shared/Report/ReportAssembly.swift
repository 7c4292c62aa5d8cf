import Foundation
import VectisAPI
import VectisContracts

/// The service a report reads from.
public enum ReportService: String, Sendable {
    case backups, alerts, rules
}

/// Reads one of the services' APIs with the caller's token: the console through its upstreams, the CLI directly.
public protocol ReportSource: Sendable {
    func get<Answer: Decodable & Sendable>(_ service: ReportService, _ path: String, as type: Answer.Type) async throws -> Answer
}

/// What stops a report, in words for the person who asked.
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum CustomerReportAssembly {
    /// Alerts read for one report at most (pages of 500): a customer with more in a month is summarised by these.
    public static let alertLimit = 5_000

    /// What a path segment or a query value may hold unescaped.
    static let segment = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~")

    /// Builds the report of `customerId` for `month` (`YYYY-MM`).
    public static func build(
        customerId: String, month: String, branding: CustomerReport.Branding, source: some ReportSource, now: Date = Date()
    ) async throws -> CustomerReport {
        guard CustomerReport.bounds(of: month, timeZone: .gmt) != nil else {
            throw ReportError("month must be a month like 2026-11.")
        }
        // One path segment, whatever the caller typed: no "/" or ".." reaches another route.
        let id = customerId.addingPercentEncoding(withAllowedCharacters: Self.segment) ?? ""
        let grid = try await source.get(.backups, "/v1/customers/\(id)/grid?month=\(month)", as: CustomerGrid.self)
        let backups = try await source.get(.backups, "/v1/customers/\(id)/backups", as: CustomerBackups.self)
        let zone = TimeZone(identifier: grid.timeZone) ?? .gmt
        guard let (start, end) = CustomerReport.bounds(of: month, timeZone: zone) else {
            throw ReportError("month must be a month like 2026-11.")
        }
        let since = BusJSON.formatTimestamp(start)
        // Alerts seen since the month began (newest first, paged), kept when they began before it ended.
        var alerts: [AlertView] = []
        var cursor: String?
        repeat {
            let query = "customer=\(id)&since=\(since)&limit=500" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await source.get(.alerts, "/v1/alerts?\(query)", as: AlertPage.self)
            alerts += page.alerts
            cursor = page.nextCursor
        } while cursor != nil && alerts.count < alertLimit
        let tickets = try await source.get(.rules, "/v1/tickets?customer=\(id)&since=\(since)", as: TicketList.self).tickets
        return CustomerReport(
            month: month, generatedAt: now, branding: branding, grid: grid, backups: backups,
            alerts: alerts.filter { $0.firstSeenAt < end }.sorted { $0.firstSeenAt < $1.firstSeenAt },
            tickets: tickets.filter {
                $0.openedAt < end && ($0.openedAt >= start || ($0.closedAt.map { $0 >= start && $0 < end } ?? false))
            }
            .sorted { $0.openedAt < $1.openedAt })
    }
}
