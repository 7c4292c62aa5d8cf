import ArgumentParser
import Foundation
import VectisAPI
import VectisContracts

/// `vectis hub <customer>`: a customer's Backups section in the terminal.
public struct HubCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hub", abstract: "Show a customer's Backups section: one card per agent and the 10 most recent runs.")

    @Argument(help: "Customer id (c_…), key (org:123, name:acme corp) or name (case-insensitive; a unique part is enough).")
    var customer: String

    @Option(help: "vectis-assets URL.")
    var assetsURL = ProcessInfo.processInfo.environment["VECTIS_ASSETS_URL"] ?? "http://127.0.0.1:8082"

    @Option(help: "vectis-backups URL.")
    var backupsURL = ProcessInfo.processInfo.environment["VECTIS_BACKUPS_URL"] ?? "http://127.0.0.1:8083"

    @Option(help: "Read-only or admin token (default: VECTIS_ADMIN_TOKEN, VECTIS_READ_TOKEN, or the local run's token files).")
    var token: String?

    @Flag(help: "Print the JSON the backups service returns.")
    var json = false

    public init() {}

    public func run() async throws {
        guard let assets = URL(string: assetsURL), let backups = URL(string: backupsURL) else {
            throw ValidationError("--assets-url and --backups-url must be URLs")
        }
        let token = AdminClient.resolveToken(token, reading: true)
        let id = try await CustomerLookup.id(of: customer, assets: AdminClient(baseURL: assets, token: token))
        let hub = try await AdminClient(baseURL: backups, token: token).call("GET", "/v1/customers/\(id)/backups", as: CustomerBackups.self)
        if json {
            let encoder = APIJSON.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            print(String(decoding: try encoder.encode(hub), as: UTF8.self))
            return
        }
        print(HubFormatter.render(hub))
    }
}

/// A customer as a person types it — id, key, name or a unique part of it — found in the assets service's list.
enum CustomerLookup {
    static func id(of text: String, assets: AdminClient) async throws -> String {
        if text.hasPrefix("c_") { return text }
        let customers = try await assets.call("GET", "/v1/customers", as: CustomerList.self).customers
        let lowered = text.lowercased()
        let exact = customers.filter { $0.key == text || $0.name.lowercased() == lowered }
        let partial = customers.filter { $0.name.lowercased().contains(lowered) }
        let matches = exact.isEmpty ? partial : exact
        guard matches.count == 1, let id = matches.first?.id else {
            let names = matches.map(\.name).joined(separator: ", ")
            throw AdminClient.Failure(
                description: matches.isEmpty
                    ? "no customer matches \"\(text)\"" : "\"\(text)\" matches several customers: \(names)")
        }
        return id
    }
}

/// The Backups section as text.
public enum HubFormatter {
    public static func render(_ hub: CustomerBackups) -> String {
        let customer = hub.customer
        var lines = ["\(customer.name)  (\(customer.id), \(customer.key))", "", "Backups"]
        let rows = hub.agents.map { card -> [String] in
            let flags = [card.isPaused ? "paused" : nil, card.isArchived ? "archived" : nil].compactMap { $0 }
            return [
                card.name + (flags.isEmpty ? "" : " (\(flags.joined(separator: ", ")))"), card.headline,
                short(card.lastSuccessAt) ?? "never",
                card.lastFailure.map { "\(short($0.at) ?? "?") \($0.message ?? "")" } ?? "never"
            ]
        }
        if rows.isEmpty {
            let appliances = (hub.appliances ?? []).map(\.name)
            lines += ["  No protected agents yet" + (appliances.isEmpty ? "" : " (appliances: \(appliances.joined(separator: ", ")))")]
        } else {
            lines += table(["Agent", "Status", "Last success", "Last failure"], rows)
        }
        lines += ["", "10 most recent runs"]
        let runs = hub.recentRuns.map { run -> [String] in
            [short(run.runAt) ?? "?", run.agentName, run.status.rawValue, run.errorMessage ?? ""]
        }
        lines += runs.isEmpty ? ["  No backups yet"] : table(["When", "Agent", "Result", "Error"], runs)
        return lines.joined(separator: "\n")
    }

    /// "2026-11-29 04:00" (UTC).
    public static func short(_ date: Date?) -> String? {
        short(date.map(BusJSON.formatTimestamp))
    }

    public static func short(_ timestamp: String?) -> String? {
        timestamp.map { String($0.prefix(16)).replacingOccurrences(of: "T", with: " ") }
    }

    public static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            "  "
                + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
    }
}
