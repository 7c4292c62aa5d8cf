import DattoSandbox
import Foundation
import GRDB
import Testing
import VectisAPI
import VectisTestSupport

/// A customer whose appliance has no protected agent yet (a new customer in any MSP tool) still has a hub.
@Suite("The hub of a customer with an agentless appliance")
struct AgentlessHubTests {
    @Test("answers 200 with the customer, its appliance and no cards; vectis hub says 'No protected agents yet'")
    func agentlessHub() async throws {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 0, sharesPerDevice: 0, failingAgents: 0,
            agentsWithoutBackupsEvery: 0, unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            // The customer as the assets service lists it; the backups service knows its appliance soon after.
            var customer: String?
            #expect(
                try await eventually {
                    customer = try await harness.assets("/v1/customers", as: CustomerList.self).customers.first?.id
                    guard let customer else { return false }
                    let answer = try await harness.backups("/v1/customers/\(customer)/backups")
                    guard answer.status == 200 else { return false }
                    return try HTTP.decode(CustomerBackups.self, answer, "hub").appliances?.count == 1
                })
            let hub = try await harness.backups("/v1/customers/\(try #require(customer))/backups", as: CustomerBackups.self)
            #expect(hub.agents.isEmpty)
            #expect(hub.appliances?.count == 1)
            let cli = try RunningProcess(
                "vectis", ["hub", try #require(customer), "--backups-url", harness.backupsURL, "--token", CollectorHarness.readToken])
            #expect(await cli.waitForExit() == 0, "\(cli.stderr)")
            #expect(cli.stdout.contains("No protected agents yet"), "\(cli.stdout)")
            let unknown = try await HTTP.send(
                "GET", harness.backupsURL + "/v1/customers/c_0000000000000000/backups", bearer: CollectorHarness.readToken)
            #expect(unknown.status == 404)
        }
    }
}
