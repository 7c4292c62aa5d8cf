import DattoSandbox
import Foundation
import GRDB
import PSASandbox
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

extension SystemHarness {
    func rules(_ path: String, _ method: String = "GET", _ body: [String: Any]? = nil) async throws -> (
        status: Int, body: String, json: [String: Any]
    ) {
        try await HTTP.send(method, rulesURL + path, body, bearer: CollectorHarness.token)
    }

    /// A rule for one of the three templates, pointed at the PSA sandbox.
    func enableRule(
        _ psa: String, template: String = "datto-fails-2-nights", dryRunHours: Double? = 0, closeOnRecovery: Bool = true,
        action: String = "ticket", extra: [String: Any] = [:]
    ) async throws -> String {
        var body: [String: Any] = ["templateId": "\(template)-\(psa)", "closeOnRecovery": closeOnRecovery, "action": action]
        body.merge(extra) { $1 }
        if let dryRunHours { body["dryRunHours"] = dryRunHours }
        (body["settings"], body["secrets"]) = psaConnection(psa)
        let created = try await rules("/v1/rules", "POST", body)
        #expect(created.status == 201, "\(created.body)")
        return try APIJSON.decode(RuleView.self, from: Data(created.body.utf8)).id
    }

    /// Settings and secrets that reach the PSA sandbox's tenant, with its ticket settings (board 1, …).
    func psaConnection(_ psa: String) -> (settings: [String: Any], secrets: [String: Any]) {
        let credentials = PSASandboxCredentials()
        let base = psaURL
        switch psa {
        case "connectwise":
            return (
                [
                    "site": "\(base)/cw", "companyId": credentials.connectWiseCompany, "publicKey": credentials.connectWisePublicKey,
                    "boardId": 1, "closedStatusId": 20
                ],
                ["privateKey": credentials.connectWisePrivateKey, "clientId": credentials.connectWiseClientId]
            )
        case "autotask":
            return (
                [
                    "zoneLookupURL": "\(base)/at/atservicesrest/v1.0/", "username": credentials.autotaskUser, "queueId": 5,
                    "completeStatusId": 5
                ],
                ["secret": credentials.autotaskSecret, "integrationCode": credentials.autotaskIntegrationCode]
            )
        default:
            return (
                [
                    "instanceURL": "\(base)/halo", "clientId": credentials.haloClientId, "tenant": credentials.haloTenant,
                    "ticketTypeId": 21, "noteOutcomeId": 7, "closedStatusId": 9
                ],
                ["clientSecret": credentials.haloClientSecret]
            )
        }
    }

    func map(_ psa: String, customer: String, company: String) async throws {
        #expect(try await rules("/v1/psa-mappings/\(psa)/\(customer)", "PUT", ["companyId": company]).status == 200)
    }

    /// Advances the sandbox a night and syncs until backups has recorded it.
    func nextNight() async throws {
        base.sandbox.advanceClock(by: 24 * 3_600)
        try await sync()
        try await waitForHistory()
    }

    /// An answer of the rules service decoded into its API shape (a shape that does not decode fails the test).
    func rules<T: Decodable>(_ path: String, _ method: String = "GET", _ body: [String: Any]? = nil, as type: T.Type) async throws -> T {
        let answer = try await rules(path, method, body)
        do {
            return try APIJSON.decode(T.self, from: Data(answer.body.utf8))
        } catch {
            throw ProcessFailure("\(method) \(path) answered \(answer.status) \(answer.body.prefix(400)), not a \(T.self): \(error)")
        }
    }

    func history(_ rule: String) async throws -> [RuleHistory.Entry] {
        try await rules("/v1/rules/\(rule)/history", as: RuleHistory.self).history
    }

    func tickets(rule: String? = nil) async throws -> [TicketView] {
        try await rules("/v1/tickets" + (rule.map { "?rule=\($0)" } ?? ""), as: TicketList.self).tickets
    }
}

@Suite("Rules and PSA tickets, end to end against both sandboxes", .serialized)
struct RulesTests {
    static let fleet = FleetConfiguration(
        customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0)

    @Test("HaloPSA: an agent named <img onerror> with a phishing link arrives in the ticket's HTML escaped, as text")
    func haloEscapesHTML() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let device = harness.sandbox.inventory()[0]
            let hostile = #"<img src=x onerror=alert(1)><a href="https://phish.example">fix it</a>"#
            let volume = try #require(harness.sandbox.addAgent(serialNumber: device.serialNumber, name: hostile))
            _ = try await harness.enableRule("halopsa")
            try await harness.map(
                "halopsa", customer: StableID.customer(tenant: "default", key: expectedCustomerKey(device)), company: "250")
            #expect(harness.sandbox.fail(volume: volume, nights: 5))
            let sandbox = harness.psa
            for _ in 0..<3 {
                try await harness.nextNight()
                if try await eventually(timeout: .seconds(5), { !sandbox.tickets(psa: "halopsa").isEmpty }) { break }
            }
            let ticket = try #require(sandbox.tickets(psa: "halopsa").first)
            #expect(!ticket.details.contains("<img") && !ticket.details.contains("<a href"), "\(ticket.details)")
            #expect(
                ticket.details.contains("&lt;img src=x onerror=alert(1)&gt;&lt;a href=&quot;https://phish.example&quot;&gt;"),
                "\(ticket.details)")
            // The dedupe marker once, not `[vectis:vectis:…]`.
            #expect(ticket.details.contains("[vectis:default:") && !ticket.details.contains("vectis:vectis:"), "\(ticket.details)")
        }
    }

    @Test(
        "ConnectWise, Autotask and HaloPSA: two failed nights open one ticket in the mapped company; a third adds one note; recovery notes, closes and resolves",
        arguments: ["connectwise", "autotask", "halopsa"])
    func ticketLifecycle(psa: String) async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let rule = try await harness.enableRule(psa)
            let device = harness.sandbox.inventory()[0]
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            try await harness.map(psa, customer: customerId, company: "250")
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 3))
            let sandbox = harness.psa

            try await harness.nextNight()
            #expect(sandbox.tickets(psa: psa).isEmpty, "one failed night is not yet a ticket")
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first?.companyId == 250 })
            #expect(sandbox.tickets(psa: psa).count == 1)
            #expect(try await harness.alertList().count == 1)

            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first?.notes.count == 1 })

            #expect(harness.sandbox.recover(volume: agent.volume))
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first?.closed == true })
            let ticket = try #require(sandbox.tickets(psa: psa).first)
            #expect(sandbox.tickets(psa: psa).count == 1)
            #expect(ticket.notes.count == 2)
            #expect(ticket.notes.last?.contains("recovered") == true)
            #expect(try await eventually { try await harness.alertList().first?.state.rawValue == "resolved" })
            let kinds = try await harness.history(rule).map(\.kind)
            #expect(kinds.filter { $0 == "ticket-open" }.count == 1)
            // One rule's tickets (the console's rule page): this rule's one ticket, none for another rule id.
            #expect(try await harness.tickets(rule: rule).count == 1)
            #expect(try await harness.tickets(rule: "ru_999").isEmpty)
            #expect(try await harness.rules("/v1/tickets?rule=first").status == 400)
            #expect(kinds.contains("psa-call"))
        }
    }

    @Test(
        "thousands of companies are read page by page from each PSA, each once; beyond about 5,000 the answer says the list is cut short",
        arguments: [2_600, 5_200])
    func companyPaging(generated: Int) async throws {
        try await SystemHarness.with(fleet: Self.fleet, psaCompanies: generated) { harness in
            let own = ["connectwise": 4, "autotask": 3, "halopsa": 3]  // each tenant's active companies besides the generated ones
            let pageSizes = ["connectwise": 1_000, "autotask": 500, "halopsa": 999]
            let maxPages = ["connectwise": 5, "autotask": 10, "halopsa": 5]
            for psa in ["connectwise", "autotask", "halopsa"] {
                let (settings, secrets) = harness.psaConnection(psa)
                let answer = try await harness.rules(
                    "/v1/psa-picklists", "POST", ["psa": psa, "settings": settings, "secrets": secrets], as: PicklistsOutcome.self)
                #expect(answer.ok, "\(psa): \(answer.error ?? "")")
                let ids = (answer.companies ?? []).map(\.id)
                let total = generated + own[psa]!
                let readable = pageSizes[psa]! * maxPages[psa]!
                #expect(ids.count == min(total, readable), "\(psa)")
                #expect(Set(ids).count == ids.count, "\(psa): no company twice")
                #expect(answer.companiesTruncated == (total > readable), "\(psa)")
            }
        }
    }

    @Test(
        "a rule edited in place keeps its open ticket: a rotated key and a new board take effect at once, the history names what changed and never a value, bad edits are refused"
    )
    func editInPlace() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let rule = try await harness.enableRule("connectwise")
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(harness.sandbox.inventory()[0]))
            try await harness.map("connectwise", customer: customerId, company: "250")
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 3))
            let sandbox = harness.psa
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: "connectwise").count == 1 })
            #expect(sandbox.tickets(psa: "connectwise").first?.board == 1)
            func testTicket() async throws -> TestTicketOutcome {
                try await harness.rules("/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"], as: TestTicketOutcome.self)
            }

            // The PSA key is rotated: only the secret is sent; the old one stops working at once.
            let rotated = try await harness.rules("/v1/rules/\(rule)", "PATCH", ["secrets": ["privateKey": "rotated-key-not-yet-in-cw"]])
            #expect(rotated.status == 200, "\(rotated.body)")
            #expect(try APIJSON.decode(RuleView.self, from: Data(rotated.body.utf8)).secretsSet == ["privateKey", "clientId"])
            #expect(!rotated.body.contains("rotated-key-not-yet-in-cw"))
            #expect(try await testTicket().error?.contains("HTTP 401") == true)

            // The right key back, and the Backups & BCDR board with its own statuses.
            var (settings, secrets) = harness.psaConnection("connectwise")
            settings["boardId"] = 7
            settings["statusId"] = 40
            settings["closedStatusId"] = 45
            let moved = try await harness.rules(
                "/v1/rules/\(rule)", "PATCH",
                [
                    "settings": settings, "secrets": ["privateKey": secrets["privateKey"]!],
                    "thresholdNights": 3, "name": "Backups board"
                ], as: RuleView.self)
            #expect(moved.name == "Backups board" && moved.thresholdNights == 3)
            #expect(moved.settings.boardId == 7)
            #expect(try await testTicket().ok)
            #expect(sandbox.tickets(psa: "connectwise").last?.board == 7)

            // The ticket opened before the edits is still this rule's: the third failed night notes it, nothing new opens.
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: "connectwise").first?.notes.count == 1 })
            #expect(sandbox.tickets(psa: "connectwise").filter { $0.summary != "Vectis test ticket" }.count == 1)

            let history = try await harness.history(rule)
            let changes = history.filter { $0.kind == "rule-changed" }.map(\.detail)
            #expect(changes.contains("secrets replaced: privateKey"), "\(changes)")
            #expect(
                changes.contains(
                    "renamed \"Backups board\"; settings changed: boardId, closedStatusId, statusId; secrets replaced: privateKey; threshold 2 → 3"
                ), "\(changes)")
            #expect(!"\(history)".contains("rotated-key-not-yet-in-cw") && !"\(history)".contains(secrets["privateKey"] as! String))

            // Refused edits change nothing.
            settings["boardId"] = NSNull()
            let missing = try await harness.rules("/v1/rules/\(rule)", "PATCH", ["settings": settings])
            #expect(missing.status == 400)
            #expect(try APIJSON.decode(APIProblem.self, from: Data(missing.body.utf8)).error == "Missing for connectwise: boardId.")
            #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["thresholdNights": 0]).status == 400)
            // Hostile or mistaken values are refused by name, never trapped on: an unknown action, a retry on a template
            // that has nothing to retry, extreme numbers, wrong types.
            for (change, message) in [
                (["action": "page-the-ceo"] as [String: Any], "action must be ticket, retry, both or notify."),
                (["thresholdNights": Int.max], "thresholdNights must be from 1 to 30."),
                (["maxRetries": -1], "maxRetries must be from 0 to 10."),
                (["dryRunHours": 1e300], "dryRunHours must be from 0 to 8760 (a year); to stop a rule, disable it.")
            ] {
                #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", change, as: APIProblem.self).error == message, "\(change)")
            }
            #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["thresholdNights": "three"]).status == 400)
            #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["enabled": 1e300]).status == 400)
            #expect(
                try await harness.rules("/v1/rules/\(rule)", "PATCH", ["settings": ["site": "ftp://x"]], as: APIProblem.self).error
                    == "Missing for connectwise: companyId, publicKey, boardId.")
            let rules = try await harness.rules("/v1/rules", as: RuleList.self).rules
            #expect(rules.first?.settings.boardId == 7 && rules.first?.thresholdNights == 3)
            #expect(try await harness.rules("/v1/rules/ru_999", "PATCH", ["name": "x"]).status == 404)
            // One rule by id, as the list shows it, for the console's rule page (which polls); never its secrets.
            let answer = try await harness.rules("/v1/rules/\(rule)")
            let one = try APIJSON.decode(RuleView.self, from: Data(answer.body.utf8))
            #expect(answer.status == 200 && one.id == rule && one.name == "Backups board")
            #expect(one == rules.first)
            #expect(!answer.body.contains(secrets["privateKey"] as! String))
            #expect(try await HTTP.send("GET", harness.rulesURL + "/v1/rules/\(rule)", bearer: CollectorHarness.readToken).status == 200)
            #expect(try await harness.rules("/v1/rules/ru_999").status == 404)
            #expect(try await harness.rules("/v1/rules/nonsense").status == 404)

            // Secrets sealed under another key file (it was replaced): the rule says so, the buttons say so, and
            // entering the secrets again through an edit repairs it.
            let database = try DatabaseQueue(path: harness.dataDirectory.appendingPathComponent("rules.sqlite").path)
            try await database.write { db in try db.execute(sql: "UPDATE rule SET secrets_sealed = 'sealed-under-another-key'") }
            let unreadable = "The stored secrets cannot be decrypted with this service's key file; enter them again (Edit)."
            #expect(try await harness.rules("/v1/rules", as: RuleList.self).rules.first?.secretsProblem == unreadable)
            #expect(try await testTicket().error == unreadable)
            #expect(try await harness.rules("/v1/psa-picklists", "POST", ["rule": rule], as: PicklistsOutcome.self).error == unreadable)
            let repaired = try await harness.rules("/v1/rules/\(rule)", "PATCH", ["secrets": secrets], as: RuleView.self)
            #expect(repaired.secretsProblem == nil && repaired.secretsSet == ["privateKey", "clientId"])
            #expect(try await testTicket().ok)
        }
    }

    @Test("a retry rule asks the collector, which re-polls the device and says plainly that no backup could be started")
    func retry() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            let observer = try ReliableNode(
                harness.bus, service: "alerts", instance: "retry-observer", subscriptions: [.prefix("backup.retry.")])
            #expect(await observer.waitUntilReady())
            try await harness.configure()
            try await harness.waitForHistory()
            _ = try await harness.enableRule("connectwise", action: "retry")
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 2))
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(try await eventually { try observer.keys(BackupRetryCompleted.topic).count == 1 })
            #expect(try observer.keys(BackupRetryRequested.topic) == ["requested/\(agent.serialNumber)/\(agent.volume)"])
            let completed = try #require(try observer.keys(BackupRetryCompleted.topic).first)
            #expect(
                completed.hasPrefix("no-hook/repolled:true/link:true/No retry hook is configured and Datto's API cannot start a backup"))
            #expect(harness.psa.allTickets.isEmpty, "a retry-only rule opens no ticket")
            try await observer.stop()
        }
    }

    @Test("dry run records 'would open ticket' and calls nothing; an unmapped customer is reported, never ticketed")
    func dryRunAndUnmapped() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let dryRule = try await harness.enableRule("connectwise", dryRunHours: nil)  // the default: dry run
            let unmappedRule = try await harness.enableRule("autotask")  // live, but the customer has no Autotask company
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(harness.sandbox.inventory()[0]))
            try await harness.map("connectwise", customer: customerId, company: "250")
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 2))
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(try await eventually { try await harness.history(dryRule).contains { $0.kind == "would-open-ticket" } })
            #expect(try await eventually { try await harness.history(unmappedRule).contains { $0.kind == "not-mapped" } })
            #expect(
                try await eventually {
                    (try await harness.alertList().first?.note)
                        == "No autotask company is mapped for Acme Corp: no ticket was opened."
                }, "the alert says so")
            try await Task.sleep(for: .milliseconds(500))
            #expect(harness.psa.requests.isEmpty, "nothing was called")
            #expect(harness.psa.allTickets.isEmpty)
            #expect(try await harness.alertList().count == 1)
            let dry = try await harness.rules("/v1/rules", as: RuleList.self).rules
            #expect(dry.first { $0.id == dryRule }?.dryRun == true)
            #expect(
                !(try await harness.rules("/v1/rules").body.contains(PSASandboxCredentials().connectWisePrivateKey)),
                "secrets never returned")
            // "Send test ticket" works even in dry run: it is a person's explicit request.
            let test = try await harness.rules("/v1/rules/\(dryRule)/test-ticket", "POST", ["companyId": "250"], as: TestTicketOutcome.self)
            #expect(test.ok, "\(test.error ?? "")")
            #expect(harness.psa.tickets(psa: "connectwise").map(\.summary) == ["Vectis test ticket"])
        }
    }

    @Test(
        "each template describes its PSA's fields; a rule without the required ones is refused naming exactly those; mappings are listed per PSA"
    )
    func templateFieldsAndMappings() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            let templates = try await harness.rules("/v1/rule-templates", as: RuleTemplateList.self).templates
            // Six problems (failed nights, missed, offline, offsite, screenshots, storage) for each of three PSAs.
            #expect(templates.count == 18)
            #expect(templates.contains { $0.name == "Datto screenshot verification failing (HaloPSA)" && $0.actions == [.ticket, .notify] })
            // Retry is offered only where there is a backup to retry; every template can only notify.
            let actions = Dictionary(uniqueKeysWithValues: templates.map { ($0.id, $0.actions) })
            #expect(actions["datto-fails-2-nights-halopsa"] == [.ticket, .retry, .both, .notify])
            #expect(actions["datto-device-offline-connectwise"] == [.ticket, .notify])
            for psa in ["connectwise", "autotask", "halopsa"] {
                let template = try #require(templates.first { $0.id == "datto-fails-2-nights-\(psa)" })
                let fields = template.fields
                let required = fields.filter(\.required).map(\.name)
                #expect(!required.isEmpty && fields.allSatisfy { !$0.label.isEmpty })
                let refused = try await harness.rules("/v1/rules", "POST", ["templateId": "datto-fails-2-nights-\(psa)"])
                #expect(refused.status == 400)
                #expect(
                    try APIJSON.decode(APIProblem.self, from: Data(refused.body.utf8)).error
                        == "Missing for \(psa): \(required.joined(separator: ", ")).")
                // Secrets are marked as such, so a form can make them write-only.
                let secrets = fields.filter { $0.kind == .secret }.map(\.name)
                #expect(
                    secrets
                        == [
                            "connectwise": ["privateKey", "clientId"], "autotask": ["secret", "integrationCode"],
                            "halopsa": ["clientSecret"]
                        ][psa])
            }
            try await harness.map("connectwise", customer: "c_1", company: "250")
            try await harness.map("halopsa", customer: "c_2", company: "7")
            let connectWise = try await harness.rules("/v1/psa-mappings?psa=connectwise", as: PSAMappingList.self).mappings
            #expect(connectWise.map { "\($0.customerId)=\($0.companyId)" } == ["c_1=250"])
            #expect(try await harness.rules("/v1/psa-mappings", as: PSAMappingList.self).mappings.count == 2)
            #expect(try await harness.rules("/v1/psa-mappings?psa=kaseya").status == 400)
        }
    }

    @Test(
        "boards, queues, statuses, priorities, ticket types and companies are read live from each PSA by name, inactive and deleted ones left out; a wrong key gets the PSA's 401; a saved rule's secrets are used without being sent"
    )
    func picklists() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            func lists(_ psa: String, settings change: [String: Any] = [:], secrets override: [String: Any] = [:]) async throws
                -> PicklistsOutcome
            {
                var (settings, secrets) = harness.psaConnection(psa)
                settings.merge(change) { $1 }
                secrets.merge(override) { $1 }
                let answer = try await harness.rules("/v1/psa-picklists", "POST", ["psa": psa, "settings": settings, "secrets": secrets])
                #expect(answer.status == 200, "\(answer.body)")
                for secret in secrets.values { #expect(!answer.body.contains("\(secret)"), "a secret came back") }
                return try APIJSON.decode(PicklistsOutcome.self, from: Data(answer.body.utf8))
            }
            func names(_ answer: PicklistsOutcome, _ field: String) -> [String] { (answer.picklists?[field] ?? []).map(\.name) }
            func ids(_ answer: PicklistsOutcome, _ field: String) -> [Int] { (answer.picklists?[field] ?? []).map(\.id) }
            func companies(_ answer: PicklistsOutcome) -> [String] { (answer.companies ?? []).map { "\($0.id)=\($0.name)" } }

            // ConnectWise with board 7 chosen: its active statuses, and only its closed ones for closing.
            let connectWise = try await lists("connectwise", settings: ["boardId": 7])
            #expect(connectWise.ok, "\(connectWise)")
            #expect(names(connectWise, "boardId") == ["Backups & BCDR", "Help Desk", "Professional Services"])
            #expect(names(connectWise, "statusId") == ["New", "Assigned", "Completed"])
            #expect(ids(connectWise, "closedStatusId") == [45])
            #expect(names(connectWise, "priorityId").first == "Priority 1 - Emergency Response")
            #expect(companies(connectWise) == ["250=Acme Corp", "252=Contoso Builders", "251=Globex LLC", "19=XYZ Test Company"])
            #expect(connectWise.companiesTruncated == false)
            // Statuses belong to a board: without one chosen there are none to offer.
            let noBoard = try await lists("connectwise", settings: ["boardId": NSNull()])
            #expect(ids(noBoard, "statusId").isEmpty && ids(noBoard, "boardId").count == 3)

            let autotask = try await lists("autotask")
            #expect(names(autotask, "queueId") == ["Monitoring Alert", "Client Portal", "Level I Support"])
            #expect(ids(autotask, "statusId") == [1, 8, 7, 5] && ids(autotask, "completeStatusId") == [1, 8, 7, 5])
            #expect(names(autotask, "priorityId") == ["Critical", "High", "Medium", "Low"])
            #expect(companies(autotask) == ["29683501=Acme Corp", "29683502=Globex LLC", "29683503=Contoso Builders"])

            let halo = try await lists("halopsa")
            #expect(ids(halo, "ticketTypeId") == [1, 21, 3])
            #expect(ids(halo, "priorityId") == [1, 2, 3, 4], "each priority once, though listed per SLA")
            #expect(names(halo, "noteOutcomeId").first == "Private Note")
            #expect(ids(halo, "closedStatusId").contains(9))
            #expect(companies(halo) == ["12=Acme Corp", "13=Globex LLC", "14=Contoso Builders"])

            // Every field the template marks as a pick list is one the PSA's lists fill.
            let templates = try await harness.rules("/v1/rule-templates", as: RuleTemplateList.self).templates
            for (psa, answer) in [("connectwise", connectWise), ("autotask", autotask), ("halopsa", halo)] {
                let template = try #require(templates.first { $0.id == "datto-fails-2-nights-\(psa)" })
                let marked = Set(template.fields.filter(\.picklist).map(\.name))
                #expect(marked == Set((answer.picklists ?? [:]).keys), "\(psa)")
            }

            // The PSA's refusal is its own words; what is missing is named before anything is sent.
            let refused = try await lists("connectwise", secrets: ["privateKey": "not-the-key"])
            #expect(!refused.ok)
            #expect(refused.error?.contains("HTTP 401") == true, "\(refused)")
            let missing = try await harness.rules("/v1/psa-picklists", "POST", ["psa": "halopsa", "settings": ["tenant": "x"]])
            #expect(missing.status == 400)
            #expect(
                try APIJSON.decode(APIProblem.self, from: Data(missing.body.utf8)).error
                    == "To read halopsa's lists, give: instanceURL, clientId, clientSecret.")
            #expect(try await harness.rules("/v1/psa-picklists", "POST", ["psa": "kaseya"]).status == 400)

            // A saved rule: its stored secrets are used, so the rule page can list companies without asking again.
            let rule = try await harness.enableRule("autotask")
            let saved = try await harness.rules("/v1/psa-picklists", "POST", ["rule": rule], as: PicklistsOutcome.self)
            #expect(saved.ok && companies(saved).count == 3, "\(saved)")
            // Its PSA calls are in its history, like every PSA call (method and path, status, duration).
            #expect(
                try await harness.history(rule).contains {
                    $0.kind == "psa-call" && $0.detail.hasSuffix("/Tickets/entityInformation/fields") && $0.status == 200
                })
            #expect(try await harness.rules("/v1/psa-picklists", "POST", ["rule": rule, "psa": "halopsa"]).status == 400)
            #expect(try await harness.rules("/v1/psa-picklists", "POST", ["rule": "ru_999"]).status == 404)

            // ConnectWise allows this account 60 calls a minute. Someone at a screen is told when they are spent
            // (Load choices, Send test ticket) instead of being kept waiting for the window to pass.
            var spent: PicklistsOutcome?
            for _ in 0..<20 {
                spent = try await lists("connectwise")
                if spent?.ok == false { break }
            }
            let budget = try #require(spent?.error)
            #expect(
                budget.hasPrefix(
                    "this PSA account's request budget (60 per minute) is spent for now, to leave room for tickets; try again in "),
                "\(budget)")
            let connectWiseRule = try await harness.enableRule("connectwise")
            let test = try await harness.rules(
                "/v1/rules/\(connectWiseRule)/test-ticket", "POST", ["companyId": "250"], as: TestTicketOutcome.self)
            #expect(!test.ok && test.error?.contains("request budget") == true, "\(test)")
        }
    }

    @Test("HaloPSA: a create whose answer came too late is found by its marker (written once, `[vectis:…]`), not created twice")
    func haloTimedOutCreateIsAdopted() async throws {
        try await SystemHarness.with(fleet: Self.fleet, psaTimeout: .seconds(1)) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let rule = try await harness.enableRule("halopsa")
            try await harness.map(
                "halopsa", customer: StableID.customer(tenant: "default", key: expectedCustomerKey(harness.sandbox.inventory()[0])),
                company: "250")
            let sandbox = harness.psa
            sandbox.queue(
                PSAFault(
                    fault: .createThenTimeout, psa: "halopsa", method: "POST", path: "/api/Tickets", count: 1, delayMilliseconds: 2_500))
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 2))
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await harness.tickets().first?.state == .open
                })
            #expect(sandbox.tickets(psa: "halopsa").count == 1, "the timed-out create was found by its marker, not made twice")
            #expect(try await harness.history(rule).contains { $0.detail.contains("not created again") })
        }
    }

    @Test(
        "a 429 waits for Retry-After; a 400 is not retried and shows in the history; a create that timed out is found by key, not duplicated; replays open nothing new"
    )
    func psaFaults() async throws {
        // Two devices: the first device's second and third agents are paused and archived in the sandbox fleet.
        try await SystemHarness.with(
            fleet: FleetConfiguration(
                customers: 1, devicesPerCustomer: 2, agentsPerDevice: 3, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0),
            psaTimeout: .seconds(1)
        ) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let rule = try await harness.enableRule("connectwise")
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(harness.sandbox.inventory()[0]))
            try await harness.map("connectwise", customer: customerId, company: "250")
            let sandbox = harness.psa
            let second = harness.sandbox.inventory()[1].serialNumber
            let agents = harness.sandbox.assets().filter { $0.hasRuns && $0.serialNumber == second }
            #expect(agents.count >= 2)
            // First ticket: rate limited once; second: refused; third: created but the answer comes too late.
            sandbox.queue(
                PSAFault(fault: .rateLimit, psa: "connectwise", method: "POST", path: "/service/tickets", count: 1, retryAfterSeconds: 1))
            sandbox.queue(PSAFault(fault: .badRequest, psa: "connectwise", method: "POST", path: "/service/tickets", count: 1))
            sandbox.queue(
                PSAFault(
                    fault: .createThenTimeout, psa: "connectwise", method: "POST", path: "/service/tickets", count: 1,
                    delayMilliseconds: 2_500))
            for agent in agents { #expect(harness.sandbox.fail(volume: agent.volume, nights: 2)) }
            try await harness.nextNight()
            try await harness.nextNight()

            #expect(
                try await eventually(timeout: .seconds(30)) {
                    let tickets = try await harness.tickets()
                    return tickets.count == agents.count && tickets.allSatisfy { [.open, .failed].contains($0.state) }
                })
            let tickets = try await harness.tickets()
            let historyText = "\(try await harness.history(rule))"
            #expect(tickets.filter { $0.state == .open }.count == agents.count - 1, "\(tickets) \(historyText)")
            #expect(tickets.filter { $0.state == .failed }.count == 1)
            #expect(sandbox.tickets(psa: "connectwise").count == agents.count - 1, "the timed-out create was found by key, not made twice")
            let history = try await harness.history(rule)
            #expect(history.contains { $0.kind == "psa-retry-scheduled" && $0.status == 429 })
            #expect(history.contains { $0.kind == "psa-error" && $0.status == 400 })
            #expect(history.contains { $0.detail.contains("not created again") })
            let posts = sandbox.requests.filter { $0.hasPrefix("POST") && $0.hasSuffix("/service/tickets") }.count
            // The rate-limited ticket: two creates (429, then success); the refused one: one, never retried; the timed-out one:
            // one (then found by a search, not created again); any others: one each.
            #expect(posts == agents.count + 1, "\(sandbox.requests)")

            // Replaying every recorded job to the rules service opens nothing new.
            let replayer = try ReliableNode(harness.bus, service: "alerts", instance: "replayer")
            #expect(await replayer.waitUntilReady())
            replayer.bus.connection.publisher.publishControl(
                BusReplayRequested(
                    stream: "backups/test", topic: Shard.wireTopic(BackupJobRecorded.topic, tenant: "default"), fromSeq: 1,
                    requestedBy: replayer.stream, reason: .gap))
            #expect(
                try await eventually {
                    let metrics = try await HTTP.send("GET", harness.rulesURL + "/metrics").body
                    let line = metrics.split(separator: "\n").first { $0.hasPrefix("vectis_bus_duplicates_skipped_total ") }
                    return (line.flatMap { Double($0.split(separator: " ").last!) } ?? 0) > 0
                })
            try await Task.sleep(for: .milliseconds(500))
            #expect(sandbox.tickets(psa: "connectwise").count == agents.count - 1)
            try await replayer.stop()
        }
    }
}
