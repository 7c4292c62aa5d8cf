import ArgumentParser
import Foundation

/// `vectis datto …`: configure, test, sync and inspect the Datto integration through the collector's API.
public struct DattoCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "datto", abstract: "Configure, test and sync the Datto BCDR integration.",
        subcommands: [Configure.self, Test.self, Sync.self, Status.self])

    public init() {}

    struct Connection: ParsableArguments {
        @Option(help: "The collector's URL.")
        var url = ProcessInfo.processInfo.environment["VECTIS_COLLECTOR_URL"] ?? "http://127.0.0.1:8081"
        @Option(help: "Admin token (default: VECTIS_ADMIN_TOKEN, or the local collector's token file).")
        var token: String?
        @Option(help: "Which integration (tenant); default: the default one.")
        var tenant: String?

        var client: AdminClient {
            get throws {
                guard let base = URL(string: url) else { throw ValidationError("--url is not a URL") }
                return AdminClient(baseURL: base, token: AdminClient.resolveToken(token))
            }
        }
    }

    struct Configure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save the Partner API key pair and region (then run `vectis datto test`).")
        @OptionGroup var connection: Connection
        @Option(help: "Partner API public key.") var publicKey: String
        @Option(help: "Partner API secret key (prefer --secret-key-stdin: arguments show in ps and shell history).")
        var secretKey: String?
        @Flag(help: "Read the secret key from standard input.") var secretKeyStdin = false
        @Option(help: "us or eu.") var region = "us"
        @Flag(help: "Make this integration the default.") var makeDefault = false

        func run() async throws {
            var secret = secretKey
            if secretKeyStdin { secret = readLine(strippingNewline: true) }
            var body: [String: Any] = ["publicKey": publicKey, "region": region, "makeDefault": makeDefault]
            if let secret { body["secretKey"] = secret }
            if let tenant = connection.tenant { body["tenant"] = tenant }
            let (_, json) = try await connection.client.send("PUT", "/v1/integrations/datto", body: body)
            print(
                "Saved Datto integration \(json["tenant"] as? String ?? "default") (\(json["region"] as? String ?? region)); secret key stored encrypted."
            )
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the saved (or given) keys against Datto.")
        @OptionGroup var connection: Connection
        @Option var publicKey: String?
        @Option var secretKey: String?
        @Option var region: String?

        func run() async throws {
            var body: [String: Any] = [:]
            if let tenant = connection.tenant { body["tenant"] = tenant }
            if let publicKey { body["publicKey"] = publicKey }
            if let secretKey { body["secretKey"] = secretKey }
            if let region { body["region"] = region }
            let (_, json) = try await connection.client.send("POST", "/v1/integrations/datto/test", body: body)
            print(json["message"] as? String ?? "no answer")
            if json["ok"] as? Bool != true { throw ExitCode(1) }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a sync now.")
        @OptionGroup var connection: Connection
        @Flag(help: "Wait until it finishes and print the outcome.") var wait = false

        func run() async throws {
            var body: [String: Any] = [:]
            if let tenant = connection.tenant { body["tenant"] = tenant }
            let client = try connection.client
            let (_, json) = try await client.send("POST", "/v1/integrations/datto/sync", body: body)
            let syncId = json["syncId"] as? String
            print("Sync \(syncId ?? "?") started for \(json["tenant"] as? String ?? "?").")
            guard wait else { return }
            while true {
                try await Task.sleep(for: .milliseconds(250))
                let now = try await Status.integration(client, tenant: connection.tenant)
                let status = now?["status"] as? String
                if now?["lastSyncId"] as? String != syncId || status == "syncing" { continue }
                print(Status.describe(now ?? [:]))
                if status == "error" { throw ExitCode(1) }
                return
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each integration: region, status, last sync, counts.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let (_, json) = try await connection.client.send("GET", "/v1/integrations/datto")
            let integrations = json["integrations"] as? [[String: Any]] ?? []
            if integrations.isEmpty { print("No Datto integration configured: run `vectis datto configure`.") }
            for integration in integrations { print(Self.describe(integration)) }
        }

        static func integration(_ client: AdminClient, tenant: String?) async throws -> [String: Any]? {
            let (_, json) = try await client.send("GET", "/v1/integrations/datto")
            let all = json["integrations"] as? [[String: Any]] ?? []
            return all.first { tenant == nil ? ($0["isDefault"] as? Bool == true) : ($0["tenant"] as? String == tenant) }
        }

        static func describe(_ integration: [String: Any]) -> String {
            let counts = integration["counts"] as? [String: Any] ?? [:]
            var lines = [
                "\(integration["tenant"] as? String ?? "?")\(integration["isDefault"] as? Bool == true ? " (default)" : ""): "
                    + "region \(integration["region"] as? String ?? "?"), public key \(integration["publicKey"] as? String ?? "?"), "
                    + "secret key \(integration["secretKeySet"] as? Bool == true ? "set" : "not set")",
                "  status \(integration["status"] as? String ?? "?"), last sync \(integration["lastSyncAt"] as? String ?? "never")"
            ]
            if !counts.isEmpty {
                lines.append(
                    "  \(counts["devices"] ?? 0) devices, \(counts["agents"] ?? 0) agents and shares, "
                        + "\(counts["runsObserved"] ?? 0) new backup runs, \(counts["requests"] ?? 0) Datto requests")
            }
            if let error = integration["lastError"] as? String { lines.append("  last error: \(error)") }
            return lines.joined(separator: "\n")
        }
    }
}
