import ArgumentParser
import Foundation
import VectisAPI
import VectisContracts

/// `vectis alerts`: the alerts feed, and what a technician does with an alert.
public struct AlertsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "List alerts; acknowledge, resolve or mute them.",
        subcommands: [List.self, Acknowledge.self, Resolve.self, Mute.self], defaultSubcommand: List.self)

    public init() {}

    struct Connection: ParsableArguments {
        @Option(help: "vectis-alerts URL.")
        var url = ProcessInfo.processInfo.environment["VECTIS_ALERTS_URL"] ?? "http://127.0.0.1:8084"
        @Option(help: "Admin token for changes (default: VECTIS_ADMIN_TOKEN, or the local token file).")
        var token: String?

        var client: AdminClient {
            get throws {
                guard let base = URL(string: url) else { throw ValidationError("--url is not a URL") }
                return AdminClient(baseURL: base, token: AdminClient.resolveToken(token, reading: true))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Show the feed, newest first.")
        @OptionGroup var connection: Connection
        @Option(help: "open, acknowledged, muted, resolved (comma-separated).") var state: String?
        @Option(help: "Customer id (c_…).") var customer: String?
        @Option var limit = 50
        @Flag var json = false

        func run() async throws {
            var query = ["limit=\(limit)"]
            if let state { query.append("state=\(state)") }
            if let customer { query.append("customer=\(customer)") }
            let page = try await connection.client.call("GET", "/v1/alerts?" + query.joined(separator: "&"), as: AlertPage.self)
            let alerts = page.alerts
            if json {
                let encoder = APIJSON.encoder()
                encoder.outputFormatting.insert(.prettyPrinted)
                print(String(decoding: try encoder.encode(page), as: UTF8.self))
                return
            }
            if alerts.isEmpty {
                print("No alerts.")
                return
            }
            let rows = alerts.map { alert -> [String] in
                // An appliance-wide alert (device-offline) is about the appliance, not an agent.
                let subject = alert.agentName ?? alert.deviceName ?? alert.deviceSerial
                return [
                    alert.id, alert.type, alert.state.rawValue, alert.severity.rawValue, alert.customerName, subject,
                    "\(alert.occurrences)",
                    HubFormatter.short(alert.lastSeenAt) ?? "?", alert.lastError ?? ""
                ]
            }
            let headers = ["Alert", "Type", "State", "Severity", "Customer", "Agent / appliance", "Seen", "Last", "Last error"]
            for line in HubFormatter.table(headers, rows) { print(line) }
        }
    }

    struct Acknowledge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ack", abstract: "Acknowledge an open alert.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Option(help: "Who is acknowledging.") var by: String?

        func run() async throws {
            let alert = try await connection.client.call(
                "POST", "/v1/alerts/\(id)/acknowledge", body: AlertActor(by: by), as: AlertView.self)
            print("\(id): \(alert.state.rawValue)")
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resolve", abstract: "Resolve an alert by hand.")
        @OptionGroup var connection: Connection
        @Argument var id: String
        @Option var by: String?

        func run() async throws {
            let alert = try await connection.client.call("POST", "/v1/alerts/\(id)/resolve", body: AlertActor(by: by), as: AlertView.self)
            print("\(id): \(alert.state.rawValue)")
        }
    }

    struct Mute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mute", abstract: "Mute an agent or a customer until a time (mutes always expire).")
        @OptionGroup var connection: Connection
        @Option(help: "Agent id (a_…).") var agent: String?
        @Option(help: "Customer id (c_…).") var customer: String?
        @Option(help: "How long, in hours.") var hours: Double
        @Option var reason: String?

        func validate() throws {
            if (agent == nil) == (customer == nil) { throw ValidationError("Give exactly one of --agent and --customer.") }
            if !(hours > 0 && hours <= 90 * 24) { throw ValidationError("--hours must be more than 0 and at most 2160 (90 days).") }
        }

        func run() async throws {
            let until = ISO8601DateFormatter().string(from: Date().addingTimeInterval(hours * 3_600))
            let body = MuteRequest(
                scope: (agent != nil ? MuteScope.agent : .customer).rawValue, agentId: agent, customerId: customer, until: until,
                reason: reason)
            let mute = try await connection.client.call("POST", "/v1/mutes", body: body, as: MuteCreated.self)
            print("Muted \(mute.targetId) until \(until) (\(mute.id)).")
        }
    }
}
