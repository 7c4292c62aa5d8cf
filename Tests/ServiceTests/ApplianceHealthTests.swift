import BackupsService
import DattoSandbox
import Foundation
import PSASandbox
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Backups that succeed but would not boot, and appliances filling up: judged from what the collector already reads.
@Suite("Screenshot verification and appliance storage", .serialized)
struct ApplianceHealthTests {
    static let fleet = FleetConfiguration(
        customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
        unassignedDevices: 0)
    static let silence = SilenceSettings(checkInterval: .milliseconds(100))

    /// An image answer: status, content type, bytes.
    static func fetch(_ url: String) async throws -> (status: Int, type: String?, data: Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.setValue("Bearer \(CollectorHarness.readToken)", forHTTPHeaderField: "Authorization")
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Content-Type"), data)
    }

    @Test(
        "a failed screenshot verification raises one screenshot-failed alert (high) and a ticket from its template; the next successful verification resolves and closes both"
    )
    func screenshotFailed() async throws {
        try await SystemHarness.with(fleet: Self.fleet, silence: Self.silence) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let rule = try await harness.enableRule("connectwise", template: "datto-screenshot-failing")
            let device = harness.sandbox.inventory()[0]
            let customer = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            try await harness.map("connectwise", customer: customer, company: "250")
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            let agentId = StableID.agent(tenant: "default", deviceSerial: agent.serialNumber, volume: agent.volume)
            #expect(harness.sandbox.failScreenshots(volume: agent.volume, nights: 3))
            try await harness.nextNight()
            #expect(try await eventually { try await harness.alertList().contains { $0.type == "screenshot-failed" } })
            let alerts = try await harness.alertList().filter { $0.type == "screenshot-failed" }
            #expect(alerts.count == 1 && alerts[0].severity == .high && alerts[0].agentId == agentId, "\(alerts)")
            #expect(alerts[0].lastError?.hasPrefix("Screenshot verification failed; last success") == true, "\(alerts[0].lastError ?? "")")
            let psa = harness.psa
            #expect(try await eventually { psa.tickets(psa: "connectwise").count == 1 })
            #expect(psa.tickets(psa: "connectwise").first?.summary.hasPrefix("Datto screenshot verification failing") == true)
            // The hub card says so, with when the last verification succeeded.
            let hub = try await harness.backups("/v1/customers/\(customer)/backups", as: CustomerBackups.self)
            let card = try #require(hub.agents.first { $0.agentId == agentId })
            #expect(
                card.state == .screenshotFailed && card.screenshot?.succeeded == false && card.screenshot?.lastSuccessAt != nil, "\(card)")

            // The image itself, through the collector (which holds the Datto key), for the read token only.
            let image = harness.collectorURL + "/v1/screenshots/\(agent.serialNumber)/\(agent.volume)"
            let blue = try await Self.fetch(image + "?at=1")
            #expect(blue.status == 200 && blue.type == "image/png" && blue.data.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(blue.status)")
            #expect(try await HTTP.send("GET", image).status == 401)
            #expect(
                try await HTTP.send("GET", harness.collectorURL + "/v1/screenshots/..%2F..%2Fetc/x", bearer: CollectorHarness.readToken)
                    .status == 400)
            #expect(
                try await HTTP.send(
                    "GET", harness.collectorURL + "/v1/screenshots/\(agent.serialNumber)/no-such-volume", bearer: CollectorHarness.readToken
                ).status == 404)

            #expect(harness.sandbox.fixScreenshots(volume: agent.volume))
            try await harness.nextNight()
            #expect(try await eventually { try await harness.alertList().first { $0.type == "screenshot-failed" }?.state == .resolved })
            #expect(try await eventually { psa.tickets(psa: "connectwise").first?.closed == true })
            #expect(try await harness.tickets(rule: rule).count == 1)
            let after = try await harness.backups("/v1/customers/\(customer)/backups", as: CustomerBackups.self)
            #expect(after.agents.first { $0.agentId == agentId }?.state == .ok)
            // A newer verification is a new image (its time is part of the address): the green screen now.
            let green = try await Self.fetch(image + "?at=2")
            #expect(green.status == 200 && green.data != blue.data)
        }
    }

    @Test(
        "an appliance filled from 70% to 96% over 20 nights raises appliance-storage medium, then high, projecting the true full date within 2 days; freeing space resolves it"
    )
    func storageFills() async throws {
        try await SystemHarness.with(fleet: Self.fleet, silence: Self.silence) { harness in
            // Filling from before the first read: every sample Vectis takes lies on the sandbox's line.
            let device = harness.sandbox.inventory()[0]
            let full = try #require(
                harness.sandbox.fillStorage(serialNumber: device.serialNumber, fromPercent: 70, toPercent: 96, days: 20))
            try await harness.configure()
            try await harness.waitForHistory()
            let customer = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            func storageAlert() async throws -> AlertView? { try await harness.alertList().first { $0.type == "appliance-storage" } }
            var severities: [AlertSeverity] = []
            for _ in 0..<20 {
                try await harness.nextNight()
                try await Task.sleep(for: .milliseconds(300))
                if let alert = try await storageAlert(), severities.last != alert.severity { severities.append(alert.severity) }
            }
            #expect(try await eventually { try await storageAlert()?.severity == .high })
            if let alert = try await storageAlert(), severities.last != alert.severity { severities.append(alert.severity) }
            #expect(severities == [.medium, .high], "medium from 85%, high from 95%: \(severities)")
            let alert = try #require(try await storageAlert())
            #expect(
                alert.lastError?.contains("% used") == true && alert.lastError?.contains("full in about 3 days") == true,
                "\(alert.lastError ?? "")")
            #expect(try await harness.alertList().filter { $0.type == "appliance-storage" }.count == 1)
            let hub = try await harness.backups("/v1/customers/\(customer)/backups", as: CustomerBackups.self)
            let storage = try #require(hub.appliances?.first { $0.serial == device.serialNumber }?.storage)
            let projected = try #require(storage.projectedFullAt)
            let error = projected.timeIntervalSince(full) / 86_400
            print("appliance storage: \(storage.percentUsed)% used, projected full \(projected), true \(full) (\(error) days off)")
            #expect(abs(error) <= 2, "projection \(error) days off")
            #expect(storage.percentUsed >= 95)

            #expect(harness.sandbox.freeStorage(serialNumber: device.serialNumber, percent: 40))
            try await harness.nextNight()
            #expect(try await eventually { try await storageAlert()?.state == .resolved })
            let freed = try await harness.backups("/v1/customers/\(customer)/backups", as: CustomerBackups.self)
            #expect(freed.appliances?.first?.storage?.percentUsed == 40)
        }
    }
}
