import Foundation
import VectisAPI
import VectisContracts

/// The monthly report as one printable HTML page: inline styles and images only (no script, nothing fetched), so
/// the page, a browser's "Save as PDF" and headless Chromium's print-to-PDF all show the same thing. Every text
/// from Datto, a PSA or a person is escaped.
public enum ReportPage {
    public static func html(_ report: CustomerReport) -> String {
        let grid = report.grid
        let customer = grid.customer.name
        var body: [String] = []
        body.append(
            """
            <header class="head">\(report.branding.logoDataURI.map { "<img class=\"logo\" src=\"\(escape($0))\" alt=\"\(escape(report.branding.mspName)) logo\">" } ?? "")
            <div><p class="from">\(escape(report.branding.mspName))</p>
            <h1>Backup report — \(escape(customer))</h1>
            <p class="muted">\(escape(report.monthTitle)) · nights change at \(String(format: "%02d:00", grid.boundaryHour)) \(escape(grid.timeZone)) · generated \(escape(day(report.generatedAt)))</p></div>
            </header>
            """)
        body.append(summary(report))
        body.append(gridTable(grid))
        body.append(failures(report))
        body.append(tickets(report))
        body.append(storage(report))
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Backup report — \(escape(customer)) — \(escape(report.monthTitle))</title>
            <style>\(style)</style></head>
            <body>
            \(body.joined(separator: "\n"))
            </body></html>
            """
    }

    // MARK: Sections

    static func summary(_ report: CustomerReport) -> String {
        let rate = report.grid.shownRate
        let failed = report.alerts.filter { $0.type == "backup-job-failure" }.count
        let silent = report.alerts.filter { $0.type != "backup-job-failure" && $0.type != "datto-alert" }.count
        let agents = report.grid.agents.count
        return """
            <section><h2>Summary</h2>
            <p class="rate"><strong>\(percent(rate))</strong> of nights with a successful backup \
            (\(rate.succeeded) of \(rate.expected) agent-nights a backup was expected, over \(rate.nights) completed night\(rate.nights == 1 ? "" : "s")).</p>
            <ul><li>\(agents) protected agent\(agents == 1 ? "" : "s") on \(report.backups.appliances?.count ?? 0) appliance\((report.backups.appliances?.count ?? 0) == 1 ? "" : "s")</li>
            <li>\(failed) backup failure\(failed == 1 ? "" : "s") and \(silent) other problem\(silent == 1 ? "" : "s") (missed backups, offline appliances, screenshots, storage)</li>
            <li>\(report.tickets.count) ticket\(report.tickets.count == 1 ? "" : "s") opened or closed</li></ul>
            </section>
            """
    }

    /// The letter each state prints as, so the grid reads without colour too.
    static let letters: [NightCell.Status: String] = [
        .success: "✓", .partial: "½", .failure: "✗", .missed: "M", .offline: "O", .paused: "–", .none: ""
    ]

    static func gridTable(_ grid: CustomerGrid) -> String {
        let head = grid.nights.map { "<th scope=\"col\">\(escape(String($0.suffix(2))))</th>" }.joined()
        let rows = grid.agents.map { agent -> String in
            let cells = agent.cells.map { cell in
                "<td class=\"c \(cell.status.rawValue)\" title=\"\(escape(cell.night)): \(cell.status.rawValue)\">\(letters[cell.status] ?? "")</td>"
            }.joined()
            let shown = agent.cells.filter { $0.night < (grid.nights.last ?? "") || grid.nights.count == 1 }
            let expected = shown.filter { [.success, .partial, .failure, .missed, .offline].contains($0.status) }.count
            let rate = SuccessRate(nights: shown.count, expected: expected, succeeded: shown.filter { $0.successes > 0 }.count)
            return "<tr><th scope=\"row\">\(escape(agent.name))</th>\(cells)<td class=\"r\">\(percent(rate))</td></tr>"
        }.joined(separator: "\n")
        let legend = NightCell.Status.allCases.map { status in
            "<span><span class=\"c \(status.rawValue) key\">\(letters[status] ?? "")</span> \(status == .none ? "no result" : status.rawValue)</span>"
        }.joined(separator: " ")
        return """
            <section><h2>Every night</h2>
            <table class="grid"><thead><tr><th scope="col">Agent</th>\(head)<th scope="col">Rate</th></tr></thead>
            <tbody>\(rows.isEmpty ? "<tr><td>No protected agents.</td></tr>" : rows)</tbody></table>
            <p class="legend">\(legend) · several runs in a night are rolled up by \(grid.rollUp.rawValue)</p>
            </section>
            """
    }

    static func failures(_ report: CustomerReport) -> String {
        let rows = report.alerts.filter { $0.type != "datto-alert" }.map { alert -> String in
            let what = alert.agentName ?? alert.deviceName ?? alert.deviceSerial
            let ended =
                alert.resolvedAt.map { "resolved \(day($0))" + (alert.resolvedReason.map { " (\(readable($0)))" } ?? "") }
                ?? "still open"
            return """
                <tr><td>\(escape(day(alert.firstSeenAt)))</td><td>\(escape(what))</td><td>\(escape(readable(alert.type)))</td>\
                <td>\(escape(alert.lastError ?? ""))</td><td>\(escape(ended))</td></tr>
                """
        }
        return """
            <section><h2>Problems and how they ended</h2>
            \(rows.isEmpty ? "<p>No backup problem this month.</p>" : """
            <table><thead><tr><th scope="col">Began</th><th scope="col">Agent or appliance</th><th scope="col">Problem</th>\
            <th scope="col">Datto said</th><th scope="col">Outcome</th></tr></thead><tbody>\(rows.joined(separator: "\n"))</tbody></table>
            """)
            </section>
            """
    }

    static func tickets(_ report: CustomerReport) -> String {
        let rows = report.tickets.map { ticket -> String in
            let number = ticket.externalId.map { "#\($0)" } ?? "(not created)"
            let closed = ticket.closedAt.map { "closed \(day($0))" + (ticket.closedBy.map { " by \($0.rawValue)" } ?? "") } ?? "open"
            return """
                <tr><td>\(escape(day(ticket.openedAt)))</td><td>\(escape(ticket.psa.rawValue)) \(escape(number))</td>\
                <td>\(escape(ticket.agentName))</td><td>\(escape(closed))</td></tr>
                """
        }
        return """
            <section><h2>Tickets</h2>
            \(rows.isEmpty ? "<p>No ticket was opened or closed this month.</p>" : """
            <table><thead><tr><th scope="col">Opened</th><th scope="col">Ticket</th><th scope="col">Agent</th>\
            <th scope="col">Closed</th></tr></thead><tbody>\(rows.joined(separator: "\n"))</tbody></table>
            """)
            </section>
            """
    }

    static func storage(_ report: CustomerReport) -> String {
        let rows = (report.backups.appliances ?? []).map { appliance -> String in
            guard let storage = appliance.storage else {
                return "<tr><td>\(escape(appliance.name))</td><td colspan=\"2\">not reported</td></tr>"
            }
            let total = Double(storage.usedBytes) + Double(storage.availableBytes)
            return """
                <tr><td>\(escape(appliance.name))</td><td>\(String(format: "%.1f", storage.percentUsed))% of \
                \(String(format: "%.1f", total / 1e12)) TB</td><td>\(escape(storage.projection))</td></tr>
                """
        }
        return """
            <section><h2>Appliance storage</h2>
            \(rows.isEmpty ? "<p>No appliance.</p>" : """
            <table><thead><tr><th scope="col">Appliance</th><th scope="col">Local storage used</th><th scope="col">Projection</th></tr></thead>
            <tbody>\(rows.joined(separator: "\n"))</tbody></table>
            """)
            </section>
            """
    }

    // MARK: Helpers

    /// Text made safe for HTML content and attribute values.
    public static func escape(_ text: String) -> String { HTMLText.escape(text) }

    static func percent(_ rate: SuccessRate) -> String {
        rate.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
    }

    /// "2026-11-28" (UTC).
    static func day(_ date: Date) -> String { String(BusJSON.formatTimestamp(date).prefix(10)) }

    /// "backup-job-failure" → "backup job failure".
    static func readable(_ code: String) -> String { code.replacingOccurrences(of: "-", with: " ") }

    static let style = """
        body { font-family: system-ui, sans-serif; color: #1d2430; margin: 2rem; font-size: 11pt; }
        .head { display: flex; gap: 1rem; align-items: center; border-bottom: 2px solid #1849a9; padding-bottom: .75rem; }
        .logo { max-height: 3.5rem; max-width: 10rem; }
        .from { margin: 0; font-weight: 700; color: #1849a9; }
        h1 { font-size: 1.5rem; margin: .2rem 0; }
        h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
        .muted, .legend { color: #5b6575; font-size: .9rem; }
        .rate strong { font-size: 1.6rem; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid #d9dee7; vertical-align: top; }
        .grid th, .grid td { padding: .1rem; text-align: center; font-size: .75rem; }
        .grid th[scope="row"] { text-align: left; white-space: nowrap; padding-right: .5rem; }
        .c { width: 1.1rem; border: 1px solid #fff; }
        .c.key { display: inline-block; width: 1rem; text-align: center; }
        .success { background: #12b76a; color: #fff; } .partial { background: #f79009; color: #fff; }
        .failure { background: #d92d20; color: #fff; } .missed { background: #9e77ed; color: #fff; }
        .offline { background: #2e90fa; color: #fff; } .paused { background: #98a2b3; color: #fff; } .none { background: #eaecf0; }
        .r { white-space: nowrap; }
        @media print {
          body { margin: 0; }
          section { break-inside: avoid; }
          .c, .key { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        }
        @page { size: A4 landscape; margin: 12mm; }
        """
}
