import ConsoleService
import DattoSandbox
import Foundation
import ServiceLifecycle
import Testing
import VectisContracts
import VectisRuntime
import VectisTestSupport

extension CollectorHarness {
    /// Runs `vectis-console` in front of this harness's services for the duration of `body`.
    func withConsole(_ body: (String) async throws -> Void) async throws {
        let port = try freePort()
        let runtime = RuntimeConfiguration(
            service: "console", instance: "test", httpPort: port, bus: bus.configuration, dataDirectory: dataDirectory.path)
        var upstreams = ["collector": URL(string: collectorURL)!]
        for (name, url) in [("assets", assetsURL), ("backups", backupsURL), ("alerts", alertsURL), ("rules", rulesURL)] {
            if let url { upstreams[name] = URL(string: url)! }
        }
        let (application, _) = try ConsoleService.buildApplication(
            ConsoleConfiguration(runtime: runtime, upstreams: upstreams), logger: TestBus.quietLogger)
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let url = "http://127.0.0.1:\(port)"
            #expect(try await eventually { (try? await HTTP.send("GET", url + "/healthz").status) == 200 })
            try await body(url)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

@Suite("Web console, in headless Chromium", .serialized, .enabled(if: Browser.available, "needs chromium and chromium-driver"))
struct ConsoleTests {
    static let fleet = FleetConfiguration(
        customers: 2, devicesPerCustomer: 1, agentsPerDevice: 3, sharesPerDevice: 1, failingAgents: 1, unassignedDevices: 0)

    @Test("sign in; Integrations shows the guide's 401 text for a wrong key and the Connected line for the right one; Save syncs; a customer's hub shows every agent's card and the 10 most recent runs as the API has them")
    func integrationsAndHub() async throws {
        try await CollectorHarness.with(fleet: Self.fleet, pipeline: true) { harness in
            try await harness.withConsole { console in
                let browser = try await Browser()
                do {
                    try await browser.open(console + "/")
                    try await browser.element("#token").type("not-the-token")
                    try await browser.element("#sign-in").click()
                    #expect(try await browser.waitForText("#sign-in-problem") { $0.contains("not the admin token") }
                        .contains("not the admin token"))
                    try await browser.element("#token").clear()
                    try await browser.element("#token").type(CollectorHarness.token)
                    try await browser.element("#sign-in").click()

                    // Admin → Integrations: a wrong secret, then the right one.
                    let key = CollectorHarness.key
                    try await browser.element("#datto-public-key").type(key.publicKey)
                    try await browser.element("#datto-secret-key").type("wrong-secret")
                    try await browser.element("#datto-test").click()
                    let refused = try await browser.waitForText("#datto-result") { !$0.isEmpty }
                    #expect(refused == "Public key / secret key pair is wrong. Rotate from the Partner Portal and re-enter.")
                    try await browser.screenshot("integrations-401")
                    try await browser.element("#datto-secret-key").clear()
                    try await browser.element("#datto-secret-key").type(key.secretKey)
                    try await browser.element("#datto-test").click()
                    let devices = harness.sandbox.inventory().filter { !$0.hidden }.count
                    #expect(try await browser.waitForText("#datto-result") { $0.hasPrefix("Connected") }
                        == "Connected to Datto (us) — \(devices) BCDR devices visible")
                    try await browser.element("#datto-save").click()
                    #expect(try await browser.waitForText("#datto-result") { $0.hasPrefix("Saved") }.hasPrefix("Saved"))
                    try await harness.waitForHistory()
                    let synced = try await browser.waitForText("#datto-last-sync") { $0.contains("\(devices) devices") }
                    #expect(synced.contains("\(devices) devices"), "\(synced)")
                    #expect(try await browser.elements("#datto-last-error").isEmpty, "no error shown after a good sync")
                    #expect(try await browser.element("#datto-status").text().contains("null") == false)
                    try await browser.screenshot("integrations-connected")

                    // Customers → a customer's hub: every agent's card and the 10 most recent runs, as the API says.
                    try await browser.open(console + "/#/customers")
                    let device = harness.sandbox.inventory()[0]
                    let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
                    try await browser.element("tr[data-customer='\(customerId)'] a").click()
                    let hub = try await harness.backups("/v1/customers/\(customerId)/backups").json
                    let agents = hub["agents"] as? [[String: Any]] ?? []
                    let recent = hub["recentRuns"] as? [[String: Any]] ?? []
                    _ = try await browser.element("#agent-cards article")
                    #expect(try await browser.elements("#agent-cards article").count == agents.count)
                    for agent in agents {
                        let card = "article[data-agent='\(agent["agentId"] as? String ?? "")']"
                        #expect(try await browser.element(card + " [data-field=headline]").text() == agent["headline"] as? String)
                        #expect(try await browser.element(card + " [data-field=failed-nights]").text() == "\(agent["failedNightsInARow"] as? Int ?? -1)")
                        let failure = (agent["lastFailure"] as? [String: Any])?["message"] as? String
                        if let failure { #expect(try await browser.element(card + " [data-field=last-failure]").text().contains(failure)) }
                    }
                    #expect(try await browser.elements("#recent-runs tbody tr").count == recent.count)
                    for run in recent {
                        let row = try await browser.element("#recent-runs tr[data-run='\(run["id"] as? Int ?? -1)']").text()
                        #expect(row.contains(run["agentName"] as? String ?? "?"))
                        #expect(row.contains(run["status"] as? String ?? "?"))
                    }
                    try await browser.screenshot("customer-hub")
                    // The alerts feed (the sandbox's failing agent) and the rule templates, newest first.
                    try await browser.open(console + "/#/alerts")
                    let open = try await harness.alertList("?state=open,acknowledged,muted")
                    _ = try await browser.element("#alerts tbody tr")
                    #expect(try await browser.elements("#alerts tbody tr").count == open.count)
                    if let first = open.first {
                        let row = try await browser.element("#alerts tr[data-alert='\(first["id"] as? String ?? "")']").text()
                        #expect(row.contains("backup-job-failure") && row.contains("high"), "\(row)")
                    }
                    try await browser.screenshot("alerts")
                    try await browser.open(console + "/#/rules")
                    _ = try await browser.element("#templates article")
                    let templates = try await harness.rules("/v1/rule-templates").json["templates"] as? [[String: Any]] ?? []
                    #expect(try await browser.elements("#templates article").count == templates.count)
                    #expect(try await browser.element("#templates article[data-template='datto-fails-2-nights-connectwise'] h3").text()
                        == "Datto backup fails 2+ nights in a row (ConnectWise)")
                    try await browser.screenshot("rules")
                    try await browser.open(console + "/#/customers/\(customerId)")
                    _ = try await browser.element("#agent-cards article")
                    // A phone-sized screen shows the same hub.
                    try await browser.resize(width: 390, height: 844)
                    try await browser.screenshot("customer-hub-phone")
                } catch {
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }
}
