import Foundation
import GRDB
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// Without any attacker: a producer's database is lost (an operator re-creates it, a volume is replaced). Its
/// numbering starts again under a new epoch; consumers must read it again instead of skipping its next events as
/// duplicates, and nothing already applied may take effect twice.
@Suite("A producer's database lost: nothing lost, nothing twice", .serialized)
struct ProducerStateLostTests {
    struct Observation: Equatable {
        var openAlerts: [String: Int] = [:]  // agent name → occurrences
        var tickets: [String: Int] = [:]  // agent name → tickets opened for it
    }

    func observe(alertsURL: String, psaURL: String) async throws -> Observation {
        var observation = Observation()
        let page = try HTTP.decode(
            AlertPage.self, try await HTTP.send("GET", alertsURL + "/v1/alerts?state=open&limit=500", bearer: ChaosCluster.token),
            "GET /v1/alerts")
        for alert in page.alerts where alert.type == "backup-job-failure" {
            observation.openAlerts[alert.agentName ?? "", default: 0] += 1
        }
        let tickets = try JSONSerialization.jsonObject(with: Data(try await HTTP.send("GET", psaURL + "/_sandbox/tickets").body.utf8))
        for ticket in tickets as? [[String: Any]] ?? [] {
            let summary = ticket["summary"] as? String ?? ""
            let agent = String(summary.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces)
            observation.tickets[agent, default: 0] += 1
        }
        return observation
    }

    @Test(
        "collector's and then backups' database deleted while running: the next failed night is recorded, alerted and ticketed exactly once"
    )
    func producerDatabaseLost() async throws {
        let dattoPort = try freePort()
        let psaPort = try freePort()
        let datto = try RunningProcess(
            "vectis-sandbox",
            [
                "datto", "--port", "\(dattoPort)", "--customers", "2", "--devices-per-customer", "1", "--agents-per-device", "3",
                "--shares-per-device", "0", "--history-length", "5", "--agents-without-backups-every", "0", "--unassigned-devices", "0",
                "--failing-agents", "0"
            ])
        try await datto.waitForOutput("Server started and listening")
        let psa = try RunningProcess("vectis-sandbox", ["psa", "--port", "\(psaPort)"])
        try await psa.waitForOutput("Server started and listening")
        let dattoURL = "http://127.0.0.1:\(dattoPort)"
        let psaURL = "http://127.0.0.1:\(psaPort)"
        let cluster = try await ChaosCluster(dattoURL: dattoURL + "/v1")
        defer { Task { await cluster.stop() } }
        try await cluster.waitUntilReady()
        let token = ChaosCluster.token
        let rulesURL = await cluster.url(.rules)
        let alertsURL = await cluster.url(.alerts)
        let collectorURL = await cluster.url(.collector)
        let rule = try await HTTP.send(
            "POST", rulesURL + "/v1/rules",
            [
                "templateId": "datto-fails-2-nights-connectwise", "dryRunHours": 0, "closeOnRecovery": true,
                "settings": ["site": psaURL + "/cw", "companyId": "vectis", "publicKey": "cw-public", "boardId": 1, "closedStatusId": 20],
                "secrets": ["privateKey": "cw-private-9f2c", "clientId": "6c1b4e2a-0d7f-4f1e-9a51-0c5e7d2f3b11"]
            ], bearer: token)
        #expect(rule.status == 201, "\(rule.body)")
        func configure() async throws {
            let configured = try await HTTP.send(
                "PUT", collectorURL + "/v1/integrations/datto",
                [
                    "publicKey": "sandbox-public-key", "secretKey": "sandbox-secret-7c4f1e9a2b", "region": "us"
                ], bearer: token)
            #expect([200, 201].contains(configured.status), "\(configured.body)")
        }
        try await configure()
        let backups = BackupsFile(cluster.dataDirectory + "/backups.sqlite")
        // While the service is still creating its file, a read can find it half made: that counts as no customer yet.
        func customers() async throws -> [String] { (try? await backups.customerIds()) ?? [] }
        #expect(try await eventually(timeout: .seconds(60)) { try await customers().count == 2 })
        for (index, customer) in try await customers().enumerated() {
            _ = try await HTTP.send(
                "PUT", rulesURL + "/v1/psa-mappings/connectwise/\(customer)", ["companyId": "\(1_000 + index)"], bearer: token)
        }
        // Three active agents (the generated fleet pauses ACME-SRV12 and archives the SRV13s: their failures alert nobody).
        let recorded = try await backups.runs()
        let names = ["ACME-SRV11", "GLOBEX-SRV11", "GLOBEX-SRV12"].map { name in
            recorded.first { $0.agentName == name }?.agentVolume ?? name
        }

        /// Fails `volume` for two nights (syncs after each) and waits for its ticket.
        func failTwoNights(_ volume: String) async throws {
            #expect(try await HTTP.send("POST", dattoURL + "/_sandbox/agents/\(volume)/fail", ["nights": 30]).status == 200)
            for _ in 0..<2 {
                _ = try await HTTP.send("POST", dattoURL + "/_sandbox/clock/advance", ["hours": 24])
                _ = try await HTTP.send("POST", collectorURL + "/v1/integrations/datto/sync", bearer: token)
                try await Task.sleep(for: .seconds(3))
            }
        }
        func agentName(_ volume: String) async throws -> String {
            try await backups.runs().first { $0.agentVolume == volume }?.agentName ?? volume
        }

        // Phase 1: a first failing agent, as a baseline.
        let first = try await agentName(names[0])
        let second = try await agentName(names[1])
        let third = try await agentName(names[2])
        try await failTwoNights(names[0])
        #expect(try await eventually(timeout: .seconds(60)) { try await observe(alertsURL: alertsURL, psaURL: psaURL).tickets[first] == 1 })
        print("baseline: \(try await observe(alertsURL: alertsURL, psaURL: psaURL))")

        // Phase 2: the collector's database is deleted; it restarts empty and is configured again.
        await cluster.kill(.collector)
        try await cluster.deleteDatabase(.collector)
        try await cluster.restart(.collector)
        try await cluster.waitUntilReady()
        try await configure()
        try await failTwoNights(names[1])
        print("after the collector's database was lost: \(try await observe(alertsURL: alertsURL, psaURL: psaURL))")
        #expect(
            try await eventually(timeout: .seconds(60)) { try await observe(alertsURL: alertsURL, psaURL: psaURL).tickets[second] == 1 })

        // Phase 3: the backups database is deleted; it is rebuilt by replay from the collector.
        await cluster.kill(.backups)
        try await cluster.deleteDatabase(.backups)
        try await cluster.restart(.backups)
        try await cluster.waitUntilReady()
        #expect(try await eventually(timeout: .seconds(60)) { try await customers().count == 2 }, "rebuilt from replay")
        try await failTwoNights(names[2])
        print("after the backups database was lost: \(try await observe(alertsURL: alertsURL, psaURL: psaURL))")
        #expect(try await eventually(timeout: .seconds(60)) { try await observe(alertsURL: alertsURL, psaURL: psaURL).tickets[third] == 1 })

        try await Task.sleep(for: .seconds(3))
        let final = try await observe(alertsURL: alertsURL, psaURL: psaURL)
        #expect(final.tickets == [first: 1, second: 1, third: 1], "one ticket per problem, none twice: \(final.tickets)")
        #expect(final.openAlerts == [first: 1, second: 1, third: 1], "one open alert per failing agent: \(final.openAlerts)")
        await cluster.stop()
        datto.signal(SIGTERM)
        psa.signal(SIGTERM)
    }
}
