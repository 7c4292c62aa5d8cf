import BackupsService
import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisReport
import VectisTestSupport

/// The monthly customer report: from the console (HTML and PDF) and from the CLI, read back with pdftotext. Part of
/// the console's serialized suite, since it runs Chromium too (one at a time).
extension ConsoleTests {
    /// The text pdftotext finds in a PDF; records an issue when poppler-utils is missing.
    static func reportText(_ pdf: Data) async throws -> String? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-report-\(UUID().uuidString).pdf")
        try pdf.write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/pdftotext") else {
            Issue.record("pdftotext is not installed: scripts/install-deps.sh installs poppler-utils")
            return nil
        }
        let process = try RunningProcess("/usr/bin/pdftotext", ["-layout", path.path, "-"])
        _ = await process.waitForExit(timeout: .seconds(30))
        return process.stdout
    }

    @Test(
        "the monthly report for a sandbox customer is escaped HTML and a valid PDF whose text has the customer, the month, every agent and the ticket; the CLI writes the same, one per customer with --all"
    )
    func report() async throws {
        let fleet = FleetConfiguration(
            customers: 2, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet, silence: SilenceSettings(checkInterval: .milliseconds(100))) {
            harness in
            let sandbox = harness.sandbox
            // A hostile name from Datto: it must print as text, never as markup.
            let hostile = "Acme <b>& Sons</b> \"Ltd\""
            #expect(sandbox.renameCustomer(0, to: hostile))
            try await harness.configure()
            try await harness.waitForHistory()
            let device = try #require(sandbox.inventory().first { $0.companyName == hostile })
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            _ = try await harness.enableRule("connectwise")
            try await harness.map("connectwise", customer: customerId, company: "250")
            let failing = try #require(device.assets.first)
            #expect(sandbox.fail(volume: failing.volume, nights: 3))
            try await harness.nextNight()
            try await harness.nextNight()
            let psa = harness.psa
            #expect(try await eventually { psa.tickets(psa: "connectwise").contains { $0.summary.contains(failing.name) } })
            // The PSA answers before the rules service records its ticket number: wait for the record.
            var opened: TicketView?
            #expect(
                try await eventually {
                    opened = try await harness.tickets().first { $0.agentName == failing.name && $0.externalId != nil }
                    return opened != nil
                })
            let ticket = try #require(opened)
            let external = try #require(ticket.externalId)
            // The month the ticket was opened in (the rules service keeps the wall clock; the sandbox's runs around it).
            let month = String(BusJSON.formatTimestamp(ticket.openedAt).prefix(7))
            let title = try #require(
                CustomerReport(
                    month: month, generatedAt: Date(), branding: .init(mspName: ""),
                    grid: try await harness.backups("/v1/customers/\(customerId)/grid?month=\(month)", as: CustomerGrid.self),
                    backups: try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self), alerts: [],
                    tickets: []
                ).monthTitle as String?)

            try await harness.withConsole { console in
                let path = "/v1/customers/\(customerId)/report?month=\(month)"
                #expect(try await HTTP.send("GET", console + path).status == 401, "no token, no report")
                for bad in ["month=2026-13", "month=november", "month=\(month)&format=docx"] {
                    let answer = try await HTTP.send(
                        "GET", console + "/v1/customers/\(customerId)/report?\(bad)", bearer: CollectorHarness.readToken)
                    #expect(answer.status == 400, "\(bad): \(answer.status) \(answer.body)")
                }
                #expect(
                    try await HTTP.send("GET", console + "/v1/customers/c_nobody/report?month=\(month)", bearer: CollectorHarness.readToken)
                        .status == 404)
                // An id that tries to reach another route stays one unknown customer.
                let sneaky = try await HTTP.send(
                    "GET", console + "/v1/customers/x%2F..%2F..%2Fdead-letters%3F/report?month=\(month)", bearer: CollectorHarness.token)
                #expect(sneaky.status == 404, "\(sneaky.status) \(sneaky.body.prefix(200))")
                let page = try await HTTP.send("GET", console + path, bearer: CollectorHarness.readToken)
                #expect(page.status == 200)
                #expect(page.body.contains("Acme &lt;b&gt;&amp; Sons&lt;/b&gt; &quot;Ltd&quot;") && !page.body.contains("<b>&"), "escaped")
                #expect(page.body.contains(title) && page.body.contains("Backup report"))
                for asset in device.assets { #expect(page.body.contains(ReportPage.escape(asset.name)), "\(asset.name)") }
                #expect(page.body.contains("#\(external)"), "the ticket is listed")
                #expect(!page.body.contains("<script"), "the page carries no script")

                let pdf = try await HTTP.sendData("GET", console + path + "&format=pdf", bearer: CollectorHarness.readToken)
                #expect(pdf.status == 200 && pdf.data.starts(with: Data("%PDF-".utf8)), "\(pdf.status)")
                if let text = try await Self.reportText(pdf.data) {
                    #expect(text.contains(hostile), "the customer's name, as text")
                    #expect(text.contains(title))
                    for asset in device.assets { #expect(text.contains(asset.name), "\(asset.name) in \(text.prefix(400))") }
                }
            }

            // The CLI: one customer's PDF, then every customer's HTML.
            let connection = [
                "--assets-url", harness.assetsURL, "--backups-url", harness.backupsURL, "--alerts-url", harness.alertsURL,
                "--rules-url", harness.rulesURL, "--token", CollectorHarness.readToken
            ]
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-reports-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let pdfPath = directory.appendingPathComponent("acme.pdf").path
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let one = try RunningProcess(
                "vectis", ["report", customerId, "--month", month, "--pdf", pdfPath, "--msp-name", "Northwind IT"] + connection)
            #expect(await one.waitForExit(timeout: .seconds(120)) == 0, "\(one.stdout)\(one.stderr)")
            if let text = try await Self.reportText(try Data(contentsOf: URL(fileURLWithPath: pdfPath))) {
                #expect(text.contains("Northwind IT") && text.contains(hostile) && text.contains(title))
                for asset in device.assets { #expect(text.contains(asset.name)) }
            }
            let everyone = directory.appendingPathComponent("all").path
            let all = try RunningProcess("vectis", ["report", "--all", "--month", month, "--out", everyone, "--html"] + connection)
            #expect(await all.waitForExit(timeout: .seconds(120)) == 0, "\(all.stdout)\(all.stderr)")
            let files = try FileManager.default.contentsOfDirectory(atPath: everyone).filter { $0.hasSuffix("-\(month).html") }
            #expect(files.count == sandbox.inventory().count, "one report per customer: \(files)")

            // `vectis grid`, not on a terminal: one letter per night and the legend.
            let grid = try RunningProcess(
                "vectis",
                ["grid", customerId, "--days", "7", "--assets-url", harness.assetsURL, "--backups-url", harness.backupsURL]
                    + ["--token", CollectorHarness.readToken])
            #expect(await grid.waitForExit(timeout: .seconds(60)) == 0, "\(grid.stderr)")
            let row = try #require(grid.stdout.split(separator: "\n").first { $0.contains(failing.name) })
            #expect(row.contains("F") && !row.contains("\u{1B}"), "\(row)")
            #expect(grid.stdout.contains("Legend: S success  P partial  F failure  M missed  O offline  - paused  . no result"))
        }
    }
}
