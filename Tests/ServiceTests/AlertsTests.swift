import DattoSandbox
import Foundation
import Testing
import VectisContracts
import VectisTestSupport

extension CollectorHarness {
    func alerts(_ path: String, _ method: String = "GET", _ body: [String: Any]? = nil, token: String? = CollectorHarness.readToken)
        async throws -> (status: Int, body: String, json: [String: Any])
    {
        try await HTTP.send(method, alertsURL! + path, body, bearer: token)
    }

    func alertList(_ query: String = "") async throws -> [[String: Any]] {
        try await alerts("/v1/alerts\(query)").json["alerts"] as? [[String: Any]] ?? []
    }
}

@Suite("Alerts feed, end to end", .serialized)
struct AlertsTests {
    static let quietFleet = FleetConfiguration(
        customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0)

    @Test("failing nights make exactly one backup-job-failure alert (severity high) with occurrences; the first success resolves it")
    func oneAlertPerProblem() async throws {
        try await CollectorHarness.with(fleet: Self.quietFleet, pipeline: true) { harness in
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
            #expect(try await eventually { try await harness.alertList().first?["occurrences"] as? Int == 2 })
            let alerts = try await harness.alertList()
            #expect(alerts.count == 1)
            let alert = try #require(alerts.first)
            #expect(alert["type"] as? String == "backup-job-failure")
            #expect(alert["severity"] as? String == "high")
            #expect(alert["state"] as? String == "open")
            #expect(alert["agentId"] as? String == agentId)
            #expect(alert["failedNightsInARow"] as? Int == 2)
            let lastFailure = harness.sandbox.visibleRunDetails().filter { $0.volume == agent.volume && !$0.succeeded }
                .max { $0.timestamp < $1.timestamp }
            #expect(alert["lastError"] as? String == lastFailure?.errorMessage)

            #expect(harness.sandbox.recover(volume: agent.volume))
            harness.sandbox.advanceClock(by: 24 * 3_600)
            try await harness.sync()
            #expect(try await eventually { try await harness.alertList().first?["state"] as? String == "resolved" })
            #expect(try await harness.alertList().first?["resolvedReason"] as? String == "recovered")
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
        try await CollectorHarness.with(pipeline: true) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            #expect(try await eventually { try await harness.alertList("?state=open").count >= 2 })
            let open = try await harness.alertList("?state=open")
            let first = open[0]["id"] as! String
            let second = open[1]["id"] as! String
            let token = CollectorHarness.token

            #expect(try await harness.alerts("/v1/alerts/\(first)/acknowledge", "POST").status == 401, "changes need the token")
            let acknowledged = try await harness.alerts("/v1/alerts/\(first)/acknowledge", "POST", ["by": "tech@msp"], token: token)
            #expect(acknowledged.json["state"] as? String == "acknowledged")
            #expect(acknowledged.json["acknowledgedBy"] as? String == "tech@msp")
            #expect(
                try await harness.alerts("/v1/alerts/\(first)/resolve", "POST", [:], token: token).json["state"] as? String == "resolved")
            #expect(try await harness.alerts("/v1/alerts/\(first)/resolve", "POST", [:], token: token).status == 409)

            let forever = try await harness.alerts("/v1/mutes", "POST", ["agentId": open[1]["agentId"] as! String], token: token)
            #expect(forever.status == 400 && forever.body.contains("until is required"))
            let until = BusJSON.formatTimestamp(Date().addingTimeInterval(7 * 86_400))
            let muted = try await harness.alerts(
                "/v1/mutes", "POST",
                [
                    "scope": "customer", "customerId": open[1]["customerId"] as! String, "until": until,
                    "reason": "customer's server moving"
                ], token: token)
            #expect(muted.status == 201)
            #expect(try await harness.alerts("/v1/alerts/\(second)").json["state"] as? String == "muted")

            // Another failed night: the muted alert counts it, quietly.
            let before = try await harness.alerts("/v1/alerts/\(second)").json["occurrences"] as? Int ?? 0
            harness.sandbox.advanceClock(by: 24 * 3_600)
            try await harness.sync()
            #expect(
                try await eventually {
                    try await harness.alerts("/v1/alerts/\(second)").json["occurrences"] as? Int == before + 1
                })
            #expect(try await harness.alerts("/v1/alerts/\(second)").json["state"] as? String == "muted")
        }
    }

    @Test("vectis alerts lists the feed and acknowledges an alert")
    func cli() async throws {
        try await CollectorHarness.with(pipeline: true) { harness in
            try await harness.configure()
            #expect(try await eventually { try await harness.alertList("?state=open").count >= 2 })
            let list = try RunningProcess("vectis", ["alerts", "--url", harness.alertsURL!, "--token", CollectorHarness.readToken])
            #expect(await list.waitForExit() == 0, "\(list.stderr)")
            let rows = list.stdout.split(separator: "\n").filter { $0.contains(" open ") && $0.contains(" high ") }
            #expect(rows.count >= 2, "\(list.stdout)")
            let id = try #require(try await harness.alertList("?state=open").first?["id"] as? String)
            let ack = try RunningProcess(
                "vectis", ["alerts", "ack", id, "--by", "cli-test", "--url", harness.alertsURL!, "--token", CollectorHarness.token])
            #expect(await ack.waitForExit() == 0, "\(ack.stderr)")
            #expect(ack.stdout == "\(id): acknowledged\n")
        }
    }

    @Test("filters and cursor paging; bad filters are 400 and unknown alerts 404, as JSON")
    func feedQueries() async throws {
        try await CollectorHarness.with(fleet: FleetConfiguration(customers: 3, failingAgents: 3), pipeline: true) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            #expect(try await eventually { try await harness.alertList().count == 3 })
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await harness.alerts("/v1/alerts?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")).json
                seen += (page["alerts"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["nextCursor"] as? String
            } while cursor != nil
            #expect(seen.count == 3 && Set(seen).count == 3)
            let customer = try #require(try await harness.alertList().first?["customerId"] as? String)
            #expect(try await harness.alertList("?customer=\(customer)").allSatisfy { $0["customerId"] as? String == customer })
            #expect(try await harness.alertList("?severity=low").isEmpty)
            #expect(try await harness.alertList("?type=backup-job-failure&state=open,acknowledged&since=2000-01-01T00:00:00Z").count == 3)
            for query in ["?state=sleeping", "?severity=urgent", "?since=yesterday", "?limit=0", "?cursor=x"] {
                let response = try await harness.alerts("/v1/alerts\(query)")
                #expect(response.status == 400 && response.json["error"] is String, "\(query)")
            }
            #expect(try await harness.alerts("/v1/alerts/al_999999").status == 404)
        }
    }
}
