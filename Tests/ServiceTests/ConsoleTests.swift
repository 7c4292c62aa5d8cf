import BackupsService
import ConsoleService
import DattoSandbox
import Foundation
import PSASandbox
import ServiceLifecycle
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

extension SystemHarness {
    /// Runs `vectis-console` in front of this harness's services for the duration of `body`.
    func withConsole(_ body: (String) async throws -> Void) async throws {
        let port = try freePort()
        let runtime = RuntimeConfiguration(
            service: "console", instance: "test", httpPort: port, bus: base.bus.configuration, dataDirectory: base.dataDirectory.path)
        var upstreams = ["collector": URL(string: base.collectorURL)!]
        for (name, url) in [("assets", assetsURL), ("backups", backupsURL), ("alerts", alertsURL), ("rules", rulesURL)] {
            upstreams[name] = URL(string: url)!
        }
        let application = try ConsoleService.buildApplication(
            ConsoleConfiguration(runtime: runtime, upstreams: upstreams), logger: TestBus.quietLogger
        ).application
        let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)
        try await withRunning(group) {
            let url = "http://127.0.0.1:\(port)"
            #expect(try await eventually { (try? await HTTP.send("GET", url + "/healthz").status) == 200 })
            try await body(url)
        }
    }
}

@Suite("Web console, in headless Chromium", .serialized, .enabled(if: Browser.available, "needs chromium and chromium-driver"))
struct ConsoleTests {
    static let fleet = FleetConfiguration(
        customers: 2, devicesPerCustomer: 1, agentsPerDevice: 3, sharesPerDevice: 1, failingAgents: 1, unassignedDevices: 0)

    @Test(
        "the customer hub draws an appliance's storage line over its last nights, and a backup that would not boot shows as failed with its image"
    )
    func storageLineAndFailedScreenshot() async throws {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        // Silence settings: observations carry the sandbox's time, which the nights below move on.
        try await SystemHarness.with(fleet: fleet, silence: SilenceSettings(checkInterval: .milliseconds(100))) {
            harness in
            let device = harness.sandbox.inventory()[0]
            harness.sandbox.fillStorage(serialNumber: device.serialNumber, fromPercent: 60, toPercent: 80, days: 10)
            try await harness.configure()
            try await harness.waitForHistory()
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.failScreenshots(volume: agent.volume, nights: 5))
            try await harness.nextNight()
            try await harness.nextNight()
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            let hub = try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self)
            let history = try #require(hub.appliances?.first?.storage?.history)
            #expect(history.count == 3, "\(history)")
            let agentId = StableID.agent(tenant: "default", deviceSerial: agent.serialNumber, volume: agent.volume)
            #expect(
                try await eventually {
                    try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self).agents.first {
                        $0.agentId == agentId
                    }?.state == .screenshotFailed
                })
            try await harness.withConsole { console in
                let browser = try await Browser()
                do {
                    try await browser.open(console + "/")
                    try await browser.element("#token").type(CollectorHarness.token)
                    try await browser.element("#sign-in").click()
                    _ = try await browser.element("nav")
                    try await browser.open(console + "/#/customers/\(customerId)")
                    let chart = "#appliances li[data-appliance='\(device.serialNumber)'] svg[data-field=storage-chart]"
                    let label = try await browser.waitForAttribute(chart, "aria-label") { $0.contains("% used") }
                    #expect(label.contains("local storage over 2 days: from 60% to 64% used"), "\(label)")
                    let points = try await browser.execute(
                        "return document.querySelector(arguments[0]).querySelector('polyline').getAttribute('points').split(' ').length",
                        [chart])
                    #expect(points as? Int == history.count)
                    let card = "article[data-agent='\(agentId)']"
                    #expect(
                        try await browser.waitForText(card + " [data-field=headline]") { $0.hasPrefix("Screenshot") }.hasPrefix(
                            "Screenshot verification failed"))
                    #expect(try await browser.element(card + " [data-field=screenshot]").text().hasPrefix("failed"))
                    let loaded = try await eventually(timeout: .seconds(10)) {
                        let script =
                            "const image = document.querySelector(arguments[0]); return image !== null && image.complete && image.naturalWidth > 0;"
                        return (try await browser.execute(script, [card + " img[data-field=screenshot-image]"]) as? Bool) == true
                    }
                    #expect(loaded, "the failed verification's image loaded")
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("customer-hub-storage-screenshot")
                } catch {
                    try? await browser.screenshot("failure-storage-screenshot")
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }

    @Test(
        "sign in; Integrations shows the guide's 401 text for a wrong key and the Connected line for the right one; Save syncs; a customer's hub shows every agent's card and the 10 most recent runs as the API has them"
    )
    func integrationsAndHub() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.withConsole { console in
                let browser = try await Browser()
                do {
                    try await browser.open(console + "/")
                    try await browser.element("#token").type("not-the-token")
                    try await browser.element("#sign-in").click()
                    #expect(
                        try await browser.waitForText("#sign-in-problem") { $0.contains("not the admin token") }
                            .contains("not the admin token"))
                    try await browser.element("#token").clear()
                    try await browser.element("#token").type(CollectorHarness.token)
                    try await browser.element("#sign-in").click()

                    // Admin → Integrations → Configure on Datto BCDR: a wrong secret, then the right one.
                    let key = CollectorHarness.key
                    #expect(try await browser.element("#datto-status").text() == "Not configured yet.")
                    try await browser.element("#datto-configure").click()
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
                    #expect(
                        try await browser.waitForText("#datto-result") { $0.hasPrefix("Connected") }
                            == "Connected to Datto (us) — \(devices) BCDR devices visible")
                    try await browser.element("#datto-save").click()
                    #expect(try await browser.waitForText("#datto-result") { $0.hasPrefix("Saved") }.hasPrefix("Saved"))
                    try await harness.waitForHistory()
                    let synced = try await browser.waitForText("#datto-last-sync") { $0.contains("\(devices) devices") }
                    #expect(synced.contains("\(devices) devices"), "\(synced)")
                    #expect(try await browser.elements("#datto-last-error").isEmpty, "no error shown after a good sync")
                    #expect(try await browser.element("#datto-status").text().contains("null") == false)
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("integrations-connected")

                    // Customers → a customer's hub: every agent's card and the 10 most recent runs, as the API says.
                    try await browser.open(console + "/#/customers")
                    let device = harness.sandbox.inventory()[0]
                    let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
                    try await browser.element("tr[data-customer='\(customerId)'] a").click()
                    let hub = try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self)
                    let agents = hub.agents
                    let recent = hub.recentRuns
                    _ = try await browser.element("#agent-cards article")
                    #expect(try await browser.elements("#agent-cards article").count == agents.count)
                    for agent in agents {
                        let card = "article[data-agent='\(agent.agentId)']"
                        #expect(try await browser.element(card + " [data-field=headline]").text() == agent.headline)
                        #expect(try await browser.element(card + " [data-field=failed-nights]").text() == "\(agent.failedNightsInARow)")
                        let failure = agent.lastFailure?.message
                        if let failure { #expect(try await browser.element(card + " [data-field=last-failure]").text().contains(failure)) }
                        let screenshot = try await browser.element(card + " [data-field=screenshot]").text()
                        #expect(
                            agent.screenshot.map { $0.succeeded ? screenshot.hasPrefix("booted") : screenshot.hasPrefix("failed") }
                                ?? (screenshot == "not verified yet"), "\(screenshot)")
                    }
                    // An agent Datto verified shows its latest screenshot, fetched through the collector.
                    let verified = try #require(agents.first { $0.screenshot != nil }, "the sandbox verifies its agents")
                    let loaded = try await eventually(timeout: .seconds(10)) {
                        let script = """
                            const image = document.querySelector("article[data-agent='\(verified.agentId)'] img[data-field=screenshot-image]");
                            return image !== null && image.complete && image.naturalWidth > 0;
                            """
                        return (try await browser.execute(script) as? Bool) == true
                    }
                    #expect(loaded, "the screenshot image loaded")
                    // Each appliance with its storage bar and projection, as the API says.
                    for appliance in hub.appliances ?? [] {
                        let storage = try #require(appliance.storage, "the sandbox reports storage")
                        let line = try await browser.element("#appliances li[data-appliance='\(appliance.serial)'] [data-field=storage]")
                            .text()
                        #expect(line.hasPrefix("\(storage.percentUsed)% used (") && line.hasSuffix(storage.projection), "\(line)")
                    }
                    #expect(try await browser.elements("#recent-runs tbody tr").count == recent.count)
                    for run in recent {
                        let row = try await browser.element("#recent-runs tr[data-run='\(run.id)']").text()
                        #expect(row.contains(run.agentName))
                        #expect(row.contains(run.status.rawValue))
                    }
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("customer-hub")
                    // The alerts feed (the sandbox's failing agent) and the rule templates, newest first.
                    try await browser.open(console + "/#/alerts")
                    let open = try await harness.alertList("?state=open,acknowledged,muted")
                    _ = try await browser.element("#alerts tbody tr")
                    #expect(try await browser.elements("#alerts tbody tr").count == open.count)
                    if let first = open.first {
                        let row = try await browser.element("#alerts tr[data-alert='\(first.id)']").text()
                        #expect(row.contains("backup-job-failure") && row.contains("high"), "\(row)")
                    }
                    try await browser.screenshot("alerts")
                    try await browser.open(console + "/#/rules")
                    _ = try await browser.element("#templates article")
                    let templates = try await harness.rules("/v1/rule-templates", as: RuleTemplateList.self).templates
                    #expect(try await browser.elements("#templates article").count == templates.count)
                    #expect(
                        try await browser.element("#templates article[data-template='datto-fails-2-nights-connectwise'] h3").text()
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

    @Test(
        "enable the ConnectWise template in the browser; an agent failing two nights appears in the feed without a reload and its ticket in the rule's history; mute it from the feed"
    )
    func ruleToTicket() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let psa = harness.psa
            // A healthy agent that backs up (not paused or archived): the one this test makes fail.
            var picked: (customerId: String, agentName: String, volume: String)?
            for device in harness.sandbox.inventory() where picked == nil {
                let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
                let hub = try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self).agents
                let healthy = hub.first {
                    !$0.currentlyFailing && $0.lastSuccessAt != nil && !$0.isPaused && !$0.isArchived && $0.kind == .agent
                }
                if let name = healthy?.name, let volume = device.assets.first(where: { $0.name == name })?.volume {
                    picked = (customerId, name, volume)
                }
            }
            let (customerId, agentName, volume) = try #require(picked)

            try await harness.withConsole { console in
                let browser = try await Browser()
                do {
                    try await browser.signIn(console)
                    // Rules → the guide's ConnectWise template → Enable.
                    try await browser.open(console + "/#/rules")
                    try await browser.element("#templates article[data-template='datto-fails-2-nights-connectwise'] a").click()
                    _ = try await browser.element("#rule-site")
                    try await browser.element("#rule-enable").click()
                    #expect(
                        try await browser.waitForText("#rule-problem") { !$0.isEmpty }
                            == "Missing for connectwise: site, companyId, publicKey, privateKey, clientId, boardId.")
                    let credentials = PSASandboxCredentials()
                    for (field, value) in [
                        ("site", harness.psaURL + "/cw"), ("companyId", credentials.connectWiseCompany),
                        ("publicKey", credentials.connectWisePublicKey), ("privateKey", credentials.connectWisePrivateKey),
                        ("clientId", credentials.connectWiseClientId)
                    ] {
                        try await browser.element("#rule-\(field)").type(value)
                    }
                    // The board and statuses are picked by name from the PSA's own lists; a board's statuses are its own.
                    try await browser.element("#rule-load-lists").click()
                    #expect(
                        try await browser.waitForText("#rule-lists-status") { $0.hasPrefix("Choices loaded") }
                            == "Choices loaded from ConnectWise. Choose a board to see its statuses.")
                    #expect(try await browser.element("select#rule-boardId").choose("Professional Services") == "1")
                    #expect(try await browser.waitForText("#rule-closedStatusId") { $0.contains("Closed (20)") }.contains("Closed (20)"))
                    #expect(try await browser.element("#rule-lists-status").text() == "Choices loaded from ConnectWise.")
                    #expect(try await browser.element("select#rule-closedStatusId").choose("Closed") == "20")
                    _ = try await browser.execute("document.getElementById('rule-load-lists').scrollIntoView()")
                    try await browser.screenshot("rule-enable-choices")
                    try await browser.element("#rule-dry-run-hours").clear()
                    try await browser.element("#rule-dry-run-hours").type("0")
                    try await browser.element("#rule-close-on-recovery").click()
                    #expect(try await browser.element("select#rule-when-closed").choose("Open a new ticket") == "new-ticket")
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("rule-enable")
                    try await browser.element("#rule-enable").click()
                    #expect(try await browser.waitForText("#rule-state") { $0.hasPrefix("Live") }.hasPrefix("Live"))
                    let rules = try await harness.rules("/v1/rules", as: RuleList.self).rules
                    #expect(rules.count == 1)
                    let rule = try #require(rules.first)
                    #expect(!rule.dryRun && rule.closeOnRecovery && rule.thresholdNights == 2)
                    #expect(rule.whenClosedByPerson == .newTicket && rule.reopenWindowDays == 7)
                    #expect(try await browser.element("#rule-when-closed").text() == "open a new ticket; reopen window 7 days")
                    let ruleId = rule.id
                    let ruleText = try await browser.element("main").text()
                    #expect(ruleText.contains("privateKey, clientId"), "which secrets are set is shown")
                    #expect(!ruleText.contains(credentials.connectWisePrivateKey), "a secret is never shown")

                    // Map the customers to their ConnectWise companies (without one no ticket is opened), read from the PSA:
                    // the failing agent's customer by hand, then the other by its name with one button.
                    try await browser.element("#load-companies").click()
                    #expect(try await browser.waitForText("#companies-status") { $0.contains("read") } == "4 companies read.")
                    let customers = try await harness.assets("/v1/customers", as: CustomerList.self).customers
                    let companyOfName = ["Acme Corp": "250", "Globex LLC": "251"]
                    let sameNames = Dictionary(
                        uniqueKeysWithValues: customers.compactMap { customer in companyOfName[customer.name].map { (customer.id, $0) } })
                    #expect(sameNames.count == 2, "\(customers)")
                    for (customer, company) in sameNames {
                        #expect(
                            try await browser.element("tr[data-customer='\(customer)'] [data-company-name]").text()
                                == "same name in connectwise: \(company)")
                    }
                    let company = try #require(sameNames[customerId])
                    try await browser.element("#company-\(customerId)").type(company)
                    #expect(
                        try await browser.element("tr[data-customer='\(customerId)'] [data-company-name]").text()
                            == companyOfName.first { $0.value == company }?.key)
                    try await browser.element("tr[data-customer='\(customerId)'] button").click()
                    #expect(try await browser.waitForText("tr[data-customer='\(customerId)'] [role=status]") { !$0.isEmpty } == "Saved")
                    try await browser.element("#map-same-names").click()
                    #expect(
                        try await browser.waitForText("#companies-status") { $0.hasPrefix("Mapped") }
                            == "Mapped 1 customer to the connectwise company of the same name.", "the one mapped by hand is left alone")
                    let mappings = try await harness.rules("/v1/psa-mappings?psa=connectwise", as: PSAMappingList.self).mappings
                    #expect(Dictionary(uniqueKeysWithValues: mappings.map { ($0.customerId, $0.companyId) }) == sameNames)

                    // The agent fails two nights while the feed is open: its alert appears without a reload.
                    try await browser.open(console + "/#/alerts")
                    _ = try await browser.element("#alerts tbody tr")
                    #expect(harness.sandbox.fail(volume: volume, nights: 3))
                    try await harness.nextNight()
                    try await harness.nextNight()
                    let feed = try await browser.waitForText("#alerts tbody") { $0.contains(agentName) }
                    let row = try #require(feed.split(separator: "\n").first { $0.contains(agentName) })
                    #expect(row.contains("high") && row.contains("backup-job-failure"), "\(row)")
                    try await browser.screenshot("alerts-new-failure")
                    // Its customer's name leads to the customer's hub, where the agent's card says it is failing.
                    let raised = try #require(try await harness.alertList().first { $0.agentName == agentName })
                    try await browser.element("tr[data-alert='\(raised.id)'] a").click()
                    let card = "#agent-cards article[data-agent='\(raised.agentId ?? "")'] [data-field=headline]"
                    let headline = try await browser.waitForText(card) { $0.hasPrefix("Currently failing") }
                    #expect(headline == "Currently failing — 2 failed nights in a row", "\(headline)")

                    // Its ticket, opened in the customer's company, is in the rule's tickets and history.
                    #expect(try await eventually { psa.tickets(psa: "connectwise").contains { $0.summary.contains(agentName) } })
                    let ticket = try #require(psa.tickets(psa: "connectwise").first { $0.summary.contains(agentName) })
                    #expect(ticket.companyId == Int(company))
                    try await browser.open(console + "/#/rules/\(ruleId)")
                    let tickets = try await browser.waitForText("#rule-tickets tbody") { $0.contains("#\(ticket.id)") }
                    #expect(tickets.contains("connectwise #\(ticket.id)") && tickets.contains(agentName), "\(tickets)")
                    // A technician closes it in ConnectWise while the backup still fails: the next night opens a new ticket
                    // naming it, and the rule's page says who closed which and what ConnectWise said.
                    #expect(psa.technician(.close, psa: "connectwise", id: ticket.id))
                    try await harness.nextNight()
                    let replaced = try await browser.waitForText("#rule-tickets tbody") { $0.contains("replaces #") }
                    #expect(replaced.contains("closed by a person") && replaced.contains("Closed, read"), "\(replaced)")
                    let history = try await browser.waitForText("#history tbody") { $0.contains("ticket-open") }
                    #expect(history.contains("ticket-open") && history.contains("psa-call"), "\(history)")
                    #expect(try await browser.unlabelledControls() == [])
                    _ = try await browser.execute("document.getElementById('history').scrollIntoView()")
                    try await browser.screenshot("rule-history")
                    try await browser.resize(width: 390, height: 844)
                    try await browser.screenshot("rule-history-phone")
                    try await browser.resize(width: 1280, height: 900)

                    // Mute it from the feed for 4 hours: the alert turns muted.
                    let alert = try #require(try await harness.alertList().first { $0.agentName == agentName })
                    let alertId = alert.id
                    try await browser.open(console + "/#/alerts")
                    try await browser.element("tr[data-alert='\(alertId)'] button[data-action=mute]").click()
                    try await browser.element("#mute-hours").select("4")
                    try await browser.element("#mute-reason").type("replacing the server")
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.screenshot("alerts-mute")
                    try await browser.element("#mute-confirm").click()
                    let stateCell = "tr[data-alert='\(alertId)'] td:nth-child(3)"
                    #expect(try await browser.waitForText(stateCell) { $0 == "muted" } == "muted")
                    #expect(try await harness.alertList("?state=muted").map(\.id) == [alertId])

                    // Edit the rule in place: the form holds its settings, never its secrets; with the secret boxes
                    // left empty, Load choices and Save use the saved ones.
                    try await browser.open(console + "/#/rules/\(ruleId)")
                    try await browser.element("#rule-edit").click()
                    #expect(try await browser.element("#rule-boardId").attribute("value") == "1")
                    #expect(try await browser.element("#rule-privateKey").attribute("placeholder") == "set — leave empty to keep")
                    #expect(try await browser.element("#rule-privateKey").attribute("value") ?? "" == "")
                    try await browser.element("#rule-load-lists").click()
                    #expect(
                        try await browser.waitForText("#rule-lists-status") { $0.hasPrefix("Choices loaded") }
                            == "Choices loaded from ConnectWise.")
                    #expect(try await browser.element("select#rule-boardId").choose("Backups & BCDR") == "7")
                    #expect(
                        try await browser.waitForText("#rule-closedStatusId") { $0.contains("Completed (45)") }.contains("Completed (45)"))
                    #expect(try await browser.element("select#rule-closedStatusId").choose("Completed") == "45")
                    try await browser.element("#rule-threshold").clear()
                    try await browser.element("#rule-threshold").type("3")
                    #expect(try await browser.unlabelledControls() == [])
                    try await browser.element("#rule-enable").click()
                    _ = try await browser.waitForText("#rule-state") { $0.hasPrefix("Live") }
                    let edited = try #require(try await harness.rules("/v1/rules", as: RuleList.self).rules.first)
                    #expect(edited.settings.boardId == 7 && edited.thresholdNights == 3)
                    #expect(edited.secretsSet == ["privateKey", "clientId"], "the saved secrets were kept")
                    #expect(
                        try await browser.waitForText("#history tbody") { $0.contains("threshold 2 → 3") }
                            .contains("settings changed: boardId, closedStatusId"))
                } catch {
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }
}

extension Browser {
    /// Form controls on the page with no accessible name (no <label>, aria-label or aria-labelledby), and buttons
    /// and links with no text: what a screen reader could not announce.
    func unlabelledControls() async throws -> [String] {
        let script = """
            const named = (e) => (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
            return [
              ...Array.from(document.querySelectorAll('input, select, textarea')).filter((e) => e.type !== 'hidden' && !named(e)),
              ...Array.from(document.querySelectorAll('button, a')).filter((e) => !e.textContent.trim() && !e.getAttribute('aria-label')),
            ].map((e) => e.outerHTML.slice(0, 120));
            """
        return try await execute(script) as? [String] ?? ["the check did not run"]
    }

    /// Opens the console and signs in with the harness's admin token.
    func signIn(_ console: String) async throws {
        try await open(console + "/")
        try await element("#token").type(CollectorHarness.token)
        try await element("#sign-in").click()
        _ = try await element("nav a[aria-current=page]")
    }
}
