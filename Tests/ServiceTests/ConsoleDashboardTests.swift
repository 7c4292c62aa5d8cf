import BackupsService
import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// The dashboard and the status grid in headless Chromium, checked against the services' APIs. Part of the console's
/// serialized suite: one Chromium at a time, so the browser tests do not starve each other or the tests around them.
extension ConsoleTests {
    /// "96.7%", or a dash: what the console prints for a rate.
    static func percent(_ rate: SuccessRate?) -> String {
        rate?.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
    }

    @Test(
        "after sign-in the dashboard shows the API's counts, worst customers, open alerts by type and the nightly chart; a customer's grid colours every cell as the API says, and a cell reached by keyboard lists that night's runs"
    )
    func dashboardAndGrid() async throws {
        let fleet = FleetConfiguration(
            customers: 3, devicesPerCustomer: 1, agentsPerDevice: 3, sharesPerDevice: 0, failingAgents: 1, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet, silence: SilenceSettings(checkInterval: .milliseconds(100))) {
            harness in
            let sandbox = harness.sandbox
            try await harness.configure()
            try await harness.waitForHistory()
            let inventory = sandbox.inventory()
            let customerDevice = inventory[1]
            #expect(sandbox.fail(volume: customerDevice.assets[0].volume, nights: 3))
            #expect(sandbox.silence(volume: customerDevice.assets[1].volume))
            for _ in 0..<3 { try await harness.nextNight() }
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(customerDevice))
            #expect(
                try await eventually {
                    try await harness.backups("/v1/customers/\(customerId)/grid?days=30", as: CustomerGrid.self).agents
                        .contains { $0.cells.contains { $0.status == .missed } }
                })
            #expect(try await eventually { try await harness.alertList().contains { $0.type == "backup-missed" } })

            try await harness.withConsole { console in
                let browser = try await Browser()
                do {
                    try await browser.resize(width: 1280, height: 1000)
                    // With Datto connected, signing in lands on the dashboard.
                    try await browser.signIn(console)
                    #expect(try await browser.waitForText("h1") { $0 == "Dashboard" } == "Dashboard")
                    let overview = try await harness.backups("/v1/fleet?nights=30", as: FleetOverview.self)
                    let counts = overview.counts
                    for (key, value) in [
                        ("failing", counts.failing), ("missed", counts.missed), ("offline", counts.offline),
                        ("screenshot", counts.screenshot),
                        ("storage", counts.storage), ("agents", counts.agents)
                    ] {
                        let shown = try await browser.waitForText("#fleet-counts [data-count='\(key)'] strong") { !$0.isEmpty }
                        #expect(shown == String(value), "\(key): \(shown) on the page, \(value) in the API")
                    }
                    #expect(counts.failing >= 1 && counts.missed >= 1, "\(counts)")
                    let worst = try await browser.elements("#worst-customers tr[data-customer]")
                    #expect(worst.count == overview.worstCustomers.count)
                    for customer in overview.worstCustomers {
                        let shown = try await browser.element(
                            "#worst-customers tr[data-customer='\(customer.customerId)'] [data-field=rate]"
                        ).text()
                        #expect(shown == Self.percent(customer.rate), "\(customer.name)")
                    }
                    let alertCounts = try HTTP.decode(AlertCounts.self, try await harness.alerts("/v1/alert-counts"), "alert-counts")
                    #expect(!alertCounts.byType.isEmpty)
                    for (type, count) in alertCounts.byType {
                        #expect(
                            try await browser.element("#alerts-by-type tr[data-type='\(type)'] [data-field=count]").text() == String(count))
                    }
                    #expect(try await browser.element("#fleet-rate").text().contains(Self.percent(overview.rate)))
                    _ = try await browser.element("#fleet-rate-chart .rate")
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("dashboard-1280")
                    try await browser.resize(width: 390, height: 900)
                    try await browser.screenshot("dashboard-390")
                    try await browser.resize(width: 1280, height: 1000)

                    // The customer's grid: every cell's state as the API says.
                    try await browser.open(console + "/#/customers/\(customerId)")
                    let grid = try await harness.backups("/v1/customers/\(customerId)/grid?days=30", as: CustomerGrid.self)
                    _ = try await browser.element("#grid button.cell")
                    let shown =
                        try await browser.execute(
                            """
                            return Array.from(document.querySelectorAll('#grid tr[data-agent]')).map((row) =>
                              [row.dataset.agent, Array.from(row.querySelectorAll('button.cell')).map((b) => b.dataset.night + '=' + b.className)]);
                            """) as? [[Any]] ?? []
                    #expect(shown.count == grid.agents.count)
                    for entry in shown {
                        let agentId = entry.first as? String ?? ""
                        let cells = entry.last as? [String] ?? []
                        let expected = grid.agents.first { $0.agentId == agentId }?.cells.map {
                            "\($0.night)=cell state-\($0.status.rawValue)"
                        }
                        #expect(cells == expected, "\(agentId)")
                    }
                    #expect(try await browser.element("#grid-rates").text().contains(Self.percent(grid.rates.first { $0.nights == 30 })))

                    // Keyboard: focus reaches a failed night's cell, Enter lists that night's runs with Datto's message.
                    let failingAgent = try #require(grid.agents.first { $0.cells.contains { $0.status == .failure } })
                    let cell = try #require(failingAgent.cells.last { $0.status == .failure })
                    let selector = "#grid tr[data-agent='\(failingAgent.agentId)'] button[data-night='\(cell.night)']"
                    let focused =
                        try await browser.execute(
                            "const b = document.querySelector(arguments[0]); b.focus(); return document.activeElement === b && b.tabIndex >= 0;",
                            [selector]) as? Bool
                    #expect(focused == true, "a grid cell is a focusable button")
                    try await browser.element(selector).type("\u{E007}")
                    let runs = try await harness.backups("/v1/agents/\(failingAgent.agentId)/runs?night=\(cell.night)", as: AgentRuns.self)
                        .runs
                    let panel = try await browser.waitForText("#grid-panel") { $0.contains("failure") }
                    #expect(panel.contains(cell.night))
                    #expect(try await browser.elements("#grid-panel li[data-run]").count == runs.count)
                    if let message = runs.first(where: { $0.status == .failure })?.errorMessage { #expect(panel.contains(message)) }
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("grid-1280")
                    try await browser.resize(width: 390, height: 900)
                    try await browser.screenshot("grid-390")
                    try await browser.resize(width: 1280, height: 1000)

                    // The monthly report from the hub: headless Chromium prints it where the console runs.
                    try await browser.element("#report-pdf").click()
                    let saved = try await browser.waitForText("#report-status", timeout: .seconds(90)) {
                        $0.hasPrefix("Saved") || $0.contains("Chromium")
                    }
                    #expect(saved.hasPrefix("Saved backup-report-") && saved.contains(".pdf"), "\(saved)")

                    // The customers list carries each customer's 30-night rate, worst first.
                    try await browser.resize(width: 1280, height: 1000)
                    try await browser.open(console + "/#/customers")
                    let rates = try await harness.backups("/v1/success-rates?nights=30", as: SuccessRates.self)
                    _ = try await browser.element("#customers tr[data-customer] [data-field=rate-30]")
                    let order =
                        try await browser.execute(
                            "return Array.from(document.querySelectorAll('#customers tr[data-customer]')).map((r) => r.dataset.customer);")
                        as? [String]
                    #expect(order == rates.customers.map(\.customerId), "worst first, as the API orders them")
                } catch {
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }
}
