import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

extension SystemHarness {
    func alerts(_ path: String, _ method: String = "GET", _ body: [String: Any]? = nil, token: String? = CollectorHarness.readToken)
        async throws -> (status: Int, body: String, json: [String: Any])
    {
        try await HTTP.send(method, alertsURL + path, body, bearer: token)
    }

    /// One alert by id, decoded into its API shape.
    func alert(_ id: String, _ action: String = "", token: String? = CollectorHarness.readToken) async throws -> AlertView {
        let answer = try await alerts(
            "/v1/alerts/\(id)\(action)", action.isEmpty ? "GET" : "POST", action.isEmpty ? nil : [:], token: token)
        do {
            return try APIJSON.decode(AlertView.self, from: Data(answer.body.utf8))
        } catch {
            throw ProcessFailure("/v1/alerts/\(id)\(action) answered \(answer.status) \(answer.body.prefix(400)), not an alert: \(error)")
        }
    }

    func alertList(_ query: String = "") async throws -> [AlertView] {
        let answer = try await alerts("/v1/alerts\(query)")
        do {
            return try APIJSON.decode(AlertPage.self, from: Data(answer.body.utf8)).alerts
        } catch {
            throw ProcessFailure("GET /v1/alerts\(query) answered \(answer.status) \(answer.body.prefix(400)), not a page: \(error)")
        }
    }
}

@Suite("Alerts feed, end to end", .serialized)
struct AlertsTests {
    static let quietFleet = FleetConfiguration(
        customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0)

    @Test("failing nights make exactly one backup-job-failure alert (severity high) with occurrences; the first success resolves it")
    func oneAlertPerProblem() async throws {
        try await SystemHarness.with(fleet: Self.quietFleet) { harness in
            let observer = try ReliableNode(harness.bus, service: "rules", instance: "alert-observer", subscriptions: [.prefix("alert.")])
            #expect(await observer.waitUntilReady())
            try await harness.configure()
            try await harness.waitForHistory()
            #expect(try await harness.alertList().isEmpty)

            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            let agentId = StableID.agent(tenant: "default", deviceSerial: agent.serialNumber, volume: agent.volume)
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 2))
            for _ in 1...2 {
                harness.sandbox.advanceClock(by: 24 * 3_600)
                try await harness.sync()
                try await harness.waitForHistory()
            }
            #expect(try await eventually { try await harness.alertList().first?.occurrences == 2 })
            let alerts = try await harness.alertList()
            #expect(alerts.count == 1)
            let alert = try #require(alerts.first)
            #expect(alert.type == "backup-job-failure")
            #expect(alert.severity.rawValue == "high")
            #expect(alert.state.rawValue == "open")
            #expect(alert.agentId == agentId)
            #expect(alert.failedNightsInARow == 2)
            let lastFailure = harness.sandbox.visibleRunDetails().filter { $0.volume == agent.volume && !$0.succeeded }
                .max { $0.timestamp < $1.timestamp }
            #expect(alert.lastError == lastFailure?.errorMessage)

            #expect(harness.sandbox.recover(volume: agent.volume))
            harness.sandbox.advanceClock(by: 24 * 3_600)
            try await harness.sync()
            #expect(try await eventually { try await harness.alertList().first?.state == .resolved })
            #expect(try await harness.alertList().first?.resolvedReason == "recovered")
            #expect(
                try await eventually {
                    try observer.applied().filter { $0.stream.hasPrefix("alerts/") }.count >= 3
                })
            let topics = try await observer.database.read { db in
                try String.fetchAll(db, sql: "SELECT topic FROM applied ORDER BY id")
            }
            #expect(topics == [AlertRaised.topic, AlertUpdated.topic, AlertResolved.topic])
            try await observer.stop()
        }
    }

    @Test("acknowledge, resolve and mute with a mandatory expiry; a muted condition records occurrences but raises nothing")
    func peopleActOnAlerts() async throws {
        // The default fleet starts with agents failing two nights.
        try await SystemHarness.with { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            #expect(try await eventually { try await harness.alertList("?state=open").count >= 2 })
            let open = try await harness.alertList("?state=open")
            let first = open[0].id
            let second = open[1].id
            let token = CollectorHarness.token

            #expect(try await harness.alerts("/v1/alerts/\(first)/acknowledge", "POST").status == 401, "changes need the token")
            let acknowledged = try await harness.alerts("/v1/alerts/\(first)/acknowledge", "POST", ["by": "tech@msp"], token: token)
            let acknowledgedAlert = try APIJSON.decode(AlertView.self, from: Data(acknowledged.body.utf8))
            #expect(acknowledgedAlert.state == .acknowledged)
            #expect(acknowledgedAlert.acknowledgedBy == "tech@msp")
            #expect(
                try await harness.alert(first, "/resolve", token: token).state == .resolved)
            #expect(try await harness.alerts("/v1/alerts/\(first)/resolve", "POST", [:], token: token).status == 409)

            let forever = try await harness.alerts("/v1/mutes", "POST", ["agentId": try #require(open[1].agentId)], token: token)
            #expect(forever.status == 400 && forever.body.contains("until is required"))
            // A scope the mute does not know, or one without its id, is refused by name; wrong types are a 400, not a 500.
            let later = BusJSON.formatTimestamp(Date().addingTimeInterval(3_600))
            for body: [String: Any] in [
                ["scope": "tenant", "customerId": open[1].customerId, "until": later],
                ["scope": "agent", "customerId": open[1].customerId, "until": later],
                ["scope": 7, "until": later], ["agentId": ["not", "a", "string"], "until": later],
                ["agentId": try #require(open[1].agentId), "until": "1e300"]
            ] {
                let refused = try await harness.alerts("/v1/mutes", "POST", body, token: token)
                #expect(refused.status == 400, "\(body): \(refused.body)")
            }
            let until = BusJSON.formatTimestamp(Date().addingTimeInterval(7 * 86_400))
            let muted = try await harness.alerts(
                "/v1/mutes", "POST",
                [
                    "scope": "customer", "customerId": open[1].customerId, "until": until,
                    "reason": "customer's server moving"
                ], token: token)
            #expect(muted.status == 201)
            #expect(try await harness.alert(second).state == .muted)

            // Another failed night: the muted alert counts it, quietly.
            let before = try await harness.alert(second).occurrences
            harness.sandbox.advanceClock(by: 24 * 3_600)
            try await harness.sync()
            #expect(
                try await eventually {
                    try await harness.alert(second).occurrences == before + 1
                })
            #expect(try await harness.alert(second).state == .muted)
        }
    }

    @Test("vectis alerts lists the feed and acknowledges an alert")
    func cli() async throws {
        try await SystemHarness.with { harness in
            try await harness.configure()
            #expect(try await eventually { try await harness.alertList("?state=open").count >= 2 })
            let list = try RunningProcess("vectis", ["alerts", "--url", harness.alertsURL, "--token", CollectorHarness.readToken])
            #expect(await list.waitForExit() == 0, "\(list.stderr)")
            let rows = list.stdout.split(separator: "\n").filter { $0.contains(" open ") && $0.contains(" high ") }
            #expect(rows.count >= 2, "\(list.stdout)")
            let id = try #require(try await harness.alertList("?state=open").first?.id)
            let ack = try RunningProcess(
                "vectis", ["alerts", "ack", id, "--by", "cli-test", "--url", harness.alertsURL, "--token", CollectorHarness.token])
            #expect(await ack.waitForExit() == 0, "\(ack.stderr)")
            #expect(ack.stdout == "\(id): acknowledged\n")
        }
    }

    @Test("filters and cursor paging; bad filters are 400 and unknown alerts 404, as JSON")
    func feedQueries() async throws {
        try await SystemHarness.with(fleet: FleetConfiguration(customers: 3, failingAgents: 3)) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            #expect(try await eventually { try await harness.alertList().count == 3 })
            var seen: [String] = []
            var cursor: String?
            repeat {
                let answer = try await harness.alerts("/v1/alerts?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                let page = try APIJSON.decode(AlertPage.self, from: Data(answer.body.utf8))
                seen += page.alerts.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen.count == 3 && Set(seen).count == 3)
            let customer = try #require(try await harness.alertList().first?.customerId)
            #expect(try await harness.alertList("?customer=\(customer)").allSatisfy { $0.customerId == customer })
            #expect(try await harness.alertList("?severity=low").isEmpty)
            #expect(try await harness.alertList("?type=backup-job-failure&state=open,acknowledged&since=2000-01-01T00:00:00Z").count == 3)
            for query in ["?state=sleeping", "?severity=urgent", "?since=yesterday", "?limit=0", "?cursor=x"] {
                let response = try await harness.alerts("/v1/alerts\(query)")
                #expect(response.status == 400, "\(query)")
                #expect(try APIJSON.decode(APIProblem.self, from: Data(response.body.utf8)).error.isEmpty == false, "\(query)")
            }
            #expect(try await harness.alerts("/v1/alerts/al_999999").status == 404)
        }
    }
}
