import ArgumentParser
import Foundation

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
        let id = try await resolve(customer, assets: AdminClient(baseURL: assets, token: token))
        let (_, hub) = try await AdminClient(baseURL: backups, token: token).send("GET", "/v1/customers/\(id)/backups")
        if json {
            let data = try JSONSerialization.data(withJSONObject: hub, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(HubFormatter.render(hub))
    }

    func resolve(_ text: String, assets: AdminClient) async throws -> String {
        if text.hasPrefix("c_") { return text }
        let (_, json) = try await assets.send("GET", "/v1/customers")
        let customers = json["customers"] as? [[String: Any]] ?? []
        let lowered = text.lowercased()
        let exact = customers.filter { ($0["key"] as? String) == text || ($0["name"] as? String)?.lowercased() == lowered }
        let partial = customers.filter { ($0["name"] as? String)?.lowercased().contains(lowered) == true }
        let matches = exact.isEmpty ? partial : exact
        guard matches.count == 1, let id = matches[0]["id"] as? String else {
            let names = matches.compactMap { $0["name"] as? String }.joined(separator: ", ")
            throw AdminClient.Failure(
                description: matches.isEmpty
                    ? "no customer matches \"\(text)\"" : "\"\(text)\" matches several customers: \(names)")
        }
        return id
    }
}

/// The Backups section as text.
public enum HubFormatter {
    public static func render(_ hub: [String: Any]) -> String {
        let customer = hub["customer"] as? [String: Any] ?? [:]
        var lines = [
            "\(customer["name"] as? String ?? "?")  (\(customer["id"] as? String ?? "?"), \(customer["key"] as? String ?? "?"))", "",
            "Backups"
        ]
        let cards = hub["agents"] as? [[String: Any]] ?? []
        let rows = cards.map { card -> [String] in
            let failure = card["lastFailure"] as? [String: Any]
            let flags = [card["isPaused"] as? Bool == true ? "paused" : nil, card["isArchived"] as? Bool == true ? "archived" : nil]
                .compactMap { $0 }
            return [
                (card["name"] as? String ?? "?") + (flags.isEmpty ? "" : " (\(flags.joined(separator: ", ")))"),
                card["headline"] as? String ?? "",
                short(card["lastSuccessAt"] as? String) ?? "never",
                failure.map { "\(short($0["at"] as? String) ?? "?") \($0["message"] as? String ?? "")" } ?? "never"
            ]
        }
        if rows.isEmpty {
            let appliances = (hub["appliances"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            lines += ["  No protected agents yet" + (appliances.isEmpty ? "" : " (appliances: \(appliances.joined(separator: ", ")))")]
        } else {
            lines += table(["Agent", "Status", "Last success", "Last failure"], rows)
        }
        lines += ["", "10 most recent runs"]
        let runs = (hub["recentRuns"] as? [[String: Any]] ?? []).map { run -> [String] in
            [
                short(run["runAt"] as? String) ?? "?", run["agentName"] as? String ?? "?", run["status"] as? String ?? "?",
                run["errorMessage"] as? String ?? ""
            ]
        }
        lines += runs.isEmpty ? ["  No backups yet"] : table(["When", "Agent", "Result", "Error"], runs)
        return lines.joined(separator: "\n")
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
