import ArgumentParser
import Foundation
import VectisAPI
import VectisContracts

#if canImport(Glibc)
    import Glibc
#endif

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
            let body = DattoSettings(
                tenant: connection.tenant, publicKey: publicKey, secretKey: secret, region: region, makeDefault: makeDefault)
            let saved = try await connection.client.call("PUT", "/v1/integrations/datto", body: body, as: DattoIntegrationView.self)
            print("Saved Datto integration \(saved.tenant) (\(saved.region)); secret key stored encrypted.")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check the saved (or given) keys against Datto.")
        @OptionGroup var connection: Connection
        @Option var publicKey: String?
        @Option var secretKey: String?
        @Option var region: String?

        func run() async throws {
            let body = DattoSettings(tenant: connection.tenant, publicKey: publicKey, secretKey: secretKey, region: region)
            let result = try await connection.client.call(
                "POST", "/v1/integrations/datto/test", body: body, as: ConnectionTestResult.self)
            print(result.message)
            if !result.ok { throw ExitCode(1) }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start a sync now.")
        @OptionGroup var connection: Connection
        @Flag(help: "Wait until it finishes, showing its progress, and print the outcome.") var wait = false

        func run() async throws {
            let client = try connection.client
            let started = try await client.call(
                "POST", "/v1/integrations/datto/sync", body: DattoSyncRequest(tenant: connection.tenant), as: DattoSyncStarted.self)
            print("Sync \(started.syncId) started for \(started.tenant).")
            guard wait else { return }
            // On a terminal one bar redrawn in place; otherwise a plain line each time another tenth is done.
            let terminal = isatty(STDOUT_FILENO) == 1
            var shownTenths = -1
            while true {
                try await Task.sleep(for: .milliseconds(250))
                guard let now = try await Status.integration(client, tenant: connection.tenant), now.lastSyncId == started.syncId else {
                    continue
                }
                if let progress = now.progress, progress.syncId == started.syncId, progress.finishedAt == nil {
                    if terminal {
                        // Straight to the terminal: print() would hold the line until a newline.
                        FileHandle.standardOutput.write(Data(("\r" + SyncProgressBar.line(progress, width: 30) + "\u{1B}[K").utf8))
                    } else if progress.percent / 10 > shownTenths {
                        shownTenths = progress.percent / 10
                        print(SyncProgressBar.line(progress, width: 0))
                    }
                }
                guard now.status != .syncing else { continue }
                if terminal { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
                print(Status.describe(now))
                if now.status == .error { throw ExitCode(1) }
                return
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each integration: region, status, last sync, counts.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let integrations = try await connection.client.call("GET", "/v1/integrations/datto", as: DattoIntegrationList.self).integrations
            if integrations.isEmpty { print("No Datto integration configured: run `vectis datto configure`.") }
            for integration in integrations { print(Self.describe(integration)) }
        }

        static func integration(_ client: AdminClient, tenant: String?) async throws -> DattoIntegrationView? {
            let all = try await client.call("GET", "/v1/integrations/datto", as: DattoIntegrationList.self).integrations
            return all.first { tenant == nil ? $0.isDefault : $0.tenant == tenant }
        }

        static func describe(_ integration: DattoIntegrationView) -> String {
            let counts = integration.counts
            var lines = [
                "\(integration.tenant)\(integration.isDefault ? " (default)" : ""): region \(integration.region), "
                    + "public key \(integration.publicKey), secret key \(integration.secretKeySet ? "set" : "not set")",
                "  status \(integration.status.rawValue), last sync \(integration.lastSyncAt.map(BusJSON.formatTimestamp) ?? "never")"
            ]
            if counts != DattoIntegrationView.Counts() {
                lines.append(
                    "  \(counts.devices ?? 0) devices, \(counts.agents ?? 0) agents and shares, "
                        + "\(counts.runsObserved ?? 0) new backup runs, \(counts.requests ?? 0) Datto requests")
            }
            if let error = integration.lastError { lines.append("  last error: \(error)") }
            return lines.joined(separator: "\n")
        }
    }
}

/// "[###########---------] 55%  275 of 500 devices  281 requests  about 1 min 10 s left" (no bar when `width` is 0).
public enum SyncProgressBar {
    public static func line(_ progress: CollectorSyncProgress, width: Int) -> String {
        let percent = max(0, min(100, progress.percent))
        let filled = width * percent / 100
        let bar = width > 0 ? "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] " : ""
        let left = progress.secondsLeft.map { "  about \(duration($0)) left" } ?? ""
        return "\(bar)\(percent)%  \(progress.devicesRead) of \(progress.devicesTotal) devices  \(progress.requests) requests" + left
    }

    /// "45 s", "3 min 5 s", "1 h 12 min".
    public static func duration(_ seconds: Double) -> String {
        let total = Int(min(max(0, seconds), 86_400 * 7).rounded())
        if total < 60 { return "\(total) s" }
        if total < 3_600 { return "\(total / 60) min \(total % 60) s" }
        return "\(total / 3_600) h \(total % 3_600 / 60) min"
    }
}
