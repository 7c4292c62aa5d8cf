import DattoSandbox
import Foundation
import PSASandbox
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// SaaS Protection through the same pipeline as BCDR: a failing Microsoft 365 application is a failing agent.
@Suite("SaaS Protection", .serialized)
struct SaaSProtectionTests {
    static let fleet: FleetConfiguration = {
        var fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        fleet.saasDomainsPerCustomer = 1
        return fleet
    }()

    @Test(
        "a domain's applications are agents of kind saas under the BCDR customer; Exchange failing two nights raises the failure alert and opens the ticket, recovery resolves and closes both"
    )
    func failingApplication() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let domain = try #require(harness.sandbox.saasDomains().first)
            let device = harness.sandbox.inventory()[0]
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            // The same customer as the appliance: its applications appear as agents of kind saas, with their runs.
            func saas() async throws -> [AgentCard] {
                try await harness.backups("/v1/customers/\(customerId)/backups", as: CustomerBackups.self).agents.filter {
                    $0.kind == .saas
                }
            }
            #expect(
                try await eventually {
                    let cards = try await saas()
                    return cards.count == 3 && cards.allSatisfy { $0.lastSuccessAt != nil && $0.state == .ok }
                })
            #expect(try await harness.integration()?.saasStatus == "SaaS Protection: 1 domain, 3 applications watched")

            let rule = try await harness.enableRule("halopsa")
            try await harness.map("halopsa", customer: customerId, company: "250")
            #expect(harness.sandbox.failSaaS(saasCustomerId: domain.saasCustomerId, application: "Exchange", nights: 2))
            try await harness.nextNight()
            try await harness.nextNight()
            let exchange = try #require(domain.applications.first { $0.name == "Exchange" })
            let agentId = StableID.agent(
                tenant: "default", deviceSerial: "saas-\(domain.saasCustomerId)", volume: "saas-\(domain.saasCustomerId)-exchange")
            // Each run in backup_jobs says what backed up.
            let runs = try await harness.backups("/v1/agents/\(agentId)/runs", as: AgentRuns.self).runs
            #expect(!runs.isEmpty && runs.allSatisfy { $0.kind == .saas }, "\(runs.map(\.kind))")
            #expect(
                try await eventually { try await harness.alertList().contains { $0.agentId == agentId && $0.type == "backup-job-failure" } }
            )
            let psa = harness.psa
            #expect(try await eventually { psa.tickets(psa: "halopsa").count == 1 })
            #expect(psa.tickets(psa: "halopsa").first?.summary.contains("\(domain.domain) Exchange") == true)
            #expect(exchange.volume == "saas-\(domain.saasCustomerId)-exchange")

            #expect(harness.sandbox.recoverSaaS(saasCustomerId: domain.saasCustomerId, application: "Exchange"))
            try await harness.nextNight()
            #expect(try await eventually { try await harness.alertList().first { $0.agentId == agentId }?.state == .resolved })
            #expect(try await eventually { psa.tickets(psa: "halopsa").first?.closed == true })
            #expect(try await harness.tickets(rule: rule).count == 1)
        }
    }

    @Test("a key without the SaaS scope (403) is one clear status line; the BCDR sync is unaffected")
    func noScope() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            harness.sandbox.forbidSaaS()
            try await harness.configure()
            try await harness.waitForHistory()
            let integration = try #require(try await harness.integration())
            #expect(integration.status == .ok && integration.lastError == nil, "\(integration)")
            #expect(integration.saasStatus == "The key has no SaaS Protection scope")
            let customers = try await harness.assets("/v1/customers", as: CustomerList.self).customers
            #expect(customers.first?.agents == 1, "the BCDR agent, no SaaS application")
        }
    }
}
