import DattoSandbox
import Foundation
import PSASandbox
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// Endpoint Backup (Direct-to-Cloud) agents through the same pipeline as BCDR.
@Suite("Endpoint Backup (Direct-to-Cloud)", .serialized)
struct EndpointBackupTests {
    @Test("an endpoint is an agent of kind endpoint under its customer; failing two nights raises the failure alert and opens the ticket")
    func failingEndpoint() async throws {
        var fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        fleet.endpointsPerCustomer = 2
        try await SystemHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let device = harness.sandbox.inventory()[0]
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            func endpoints() async throws -> [AgentCard] {
                try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self).agents.filter {
                    $0.kind == .endpoint
                }
            }
            #expect(try await eventually { try await endpoints().count == 2 })
            #expect(try await endpoints().allSatisfy { $0.lastSuccessAt != nil && $0.state == .ok })
            // Each run in backup_jobs says what backed up: an endpoint here, a BCDR agent on the appliance.
            let laptopCard = try #require(try await endpoints().first)
            let endpointRuns = try await harness.backups("/v1/agents/\(laptopCard.agentId)/runs", as: AgentRuns.self).runs
            #expect(!endpointRuns.isEmpty && endpointRuns.allSatisfy { $0.kind == .endpoint })
            let hub = try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self)
            let bcdr = try #require(hub.agents.first { $0.kind == .agent && $0.lastRunAt != nil })
            let bcdrRuns = try await harness.backups("/v1/agents/\(bcdr.agentId)/runs", as: AgentRuns.self).runs
            #expect(!bcdrRuns.isEmpty && bcdrRuns.allSatisfy { $0.kind == .agent })

            _ = try await harness.enableRule("connectwise")
            try await harness.map("connectwise", customer: customerId, company: "250")
            let laptop = try #require(harness.sandbox.endpoints().first)
            #expect(harness.sandbox.failEndpoint(assetUuid: laptop.assetUuid, nights: 3))
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(
                try await eventually {
                    try await harness.alertList().contains { $0.agentName == laptop.name && $0.type == "backup-job-failure" }
                })
            let card = try #require(try await endpoints().first { $0.volume == laptop.assetUuid })
            #expect(card.state == .failing && card.failedNightsInARow == 2, "\(card)")
            let psa = harness.psa
            #expect(try await eventually { psa.tickets(psa: "connectwise").contains { $0.summary.contains(laptop.name) } })
        }
    }
}
