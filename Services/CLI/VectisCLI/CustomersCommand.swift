import ArgumentParser
import Foundation
import VectisAPI

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `vectis customers`: every customer with its device, agent and failing-agent counts.
public struct CustomersCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "customers", abstract: "List customers with their counts.")

    @Option(help: "vectis-assets URL.")
    var assetsURL = ProcessInfo.processInfo.environment["VECTIS_ASSETS_URL"] ?? "http://127.0.0.1:8082"

    @Option(help: "Read-only or admin token (default: VECTIS_ADMIN_TOKEN, VECTIS_READ_TOKEN, or the local run's token files).")
    var token: String?

    public init() {}

    public func run() async throws {
        guard let base = URL(string: assetsURL) else { throw ValidationError("--assets-url must be a URL") }
        let client = AdminClient(baseURL: base, token: AdminClient.resolveToken(token, reading: true))
        let rows = try await client.call("GET", "/v1/customers", as: CustomerList.self).customers.map { customer -> [String] in
            [customer.name, customer.id, "\(customer.devices)", "\(customer.agents)", "\(customer.failingAgents)"]
        }
        if rows.isEmpty {
            print("No customers yet: configure Datto and sync (`vectis datto sync --wait`).")
            return
        }
        for line in HubFormatter.table(["Customer", "Id", "Devices", "Agents", "Failing"], rows) { print(line) }
    }
}

/// `vectis healthcheck URL`: exit 0 when the URL answers 200 — for container healthchecks without curl.
public struct HealthcheckCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "healthcheck", abstract: "Exit 0 if the URL answers 200 within 3 s (for container healthchecks).")

    @Argument var url: String

    public init() {}

    public func run() async throws {
        guard let target = URL(string: url) else { throw ValidationError("not a URL") }
        var request = URLRequest(url: target)
        request.timeoutInterval = 3
        guard let (_, response) = try? await URLSession.shared.data(for: request),
            (response as? HTTPURLResponse)?.statusCode == 200
        else { throw ExitCode(1) }
    }
}
