import Foundation
import GRDB
import Testing
import VectisContracts
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The executables as an operator runs them: bus, Datto sandbox, collector, assets, backups, and the CLI.
@Suite("Sandbox → collector → assets/backups as processes", .serialized)
struct PipelineProcessTests {
    @Test("vectis hub shows a customer's Backups section; killing and restarting vectis-backups records nothing twice")
    func restartKeepsHistory() async throws {
        let bus = try await BusProcess.start()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-pipeline-\(UUID().uuidString)").path
        let sandboxPort = try freePort()
        let sandbox = try RunningProcess("vectis-sandbox", ["datto", "--port", "\(sandboxPort)"])
        try await sandbox.waitForOutput("Server started and listening")
        let ports = (collector: try freePort(), assets: try freePort(), backups: try freePort())
        var environment = [
            "VECTIS_BUS_PUBLISH": bus.publish, "VECTIS_BUS_SUBSCRIBE": bus.subscribe, "VECTIS_DATA_DIR": data,
            "VECTIS_ADMIN_TOKEN": "pipeline-token-0123456789", "VECTIS_READ_TOKEN": "pipeline-read-0123456789",
            "VECTIS_HEARTBEAT_INTERVAL_MS": "500",
            "VECTIS_DATTO_BASE_URL_US": "http://127.0.0.1:\(sandboxPort)/v1"
        ]
        func start(_ name: String, port: Int) async throws -> RunningProcess {
            environment["VECTIS_HTTP_PORT"] = "\(port)"
            let process = try RunningProcess(name, [], environment: environment)
            try await process.waitForOutput("Server started and listening")
            return process
        }
        let collector = try await start("vectis-collector", port: ports.collector)
        let assets = try await start("vectis-assets", port: ports.assets)
        var backups = try await start("vectis-backups", port: ports.backups)

        let cli = ["--url", "http://127.0.0.1:\(ports.collector)", "--token", "pipeline-token-0123456789"]
        let configure = try RunningProcess(
            "vectis", ["datto", "configure", "--public-key", "sandbox-public-key", "--region", "us", "--secret-key-stdin"] + cli)
        configure.send("sandbox-secret-7c4f1e9a2b")
        #expect(await configure.waitForExit() == 0)
        let sync = try RunningProcess("vectis", ["datto", "sync", "--wait"] + cli)
        #expect(await sync.waitForExit() == 0, "\(sync.stdout)\(sync.stderr)")

        let database = BackupsFile("\(data)/backups.sqlite")
        func rows() async throws -> Int { try await database.runs().count }
        // The default sandbox fleet shows 500 runs (50 assets with a full 10-run history).
        #expect(try await eventually(timeout: .seconds(30)) { try await rows() == 500 })

        let hub = try RunningProcess(
            "vectis",
            [
                "hub", "Acme Corp", "--assets-url", "http://127.0.0.1:\(ports.assets)",
                "--backups-url", "http://127.0.0.1:\(ports.backups)", "--token", "pipeline-read-0123456789"
            ])
        #expect(await hub.waitForExit() == 0, "\(hub.stderr)")
        #expect(hub.stdout.hasPrefix("Acme Corp  (c_"))
        #expect(hub.stdout.contains("10 most recent runs"))
        #expect(hub.stdout.contains("No backups yet") || hub.stdout.contains("Currently failing") || hub.stdout.contains("OK"))

        backups.signal(SIGKILL)
        _ = await backups.waitForExit()
        let resync = try RunningProcess("vectis", ["datto", "sync", "--wait"] + cli)
        #expect(await resync.waitForExit() == 0)
        backups = try await start("vectis-backups", port: ports.backups)
        // Back up: it catches up through replay and heartbeats, and has nothing new to record.
        #expect(
            try await eventually(timeout: .seconds(20)) {
                (try? await HTTP.send("GET", "http://127.0.0.1:\(ports.backups)/readyz").status) == 200
            })
        try await Task.sleep(for: .seconds(2))
        #expect(try await rows() == 500)

        for process in [backups, assets, collector, sandbox, bus.process] { process.signal(SIGTERM) }
        for process in [backups, assets, collector, sandbox, bus.process] {
            #expect(await process.waitForExit(timeout: .seconds(10)) == 0)
        }
    }
}

@Suite("vectis-bench soak", .serialized)
struct SoakCommandTests {
    @Test("a short soak runs the whole system at a steady rate and reports every service's memory at start and end")
    func shortSoak() async throws {
        let soak = try RunningProcess("vectis-bench", ["soak", "--minutes", "0.25", "--devices", "10", "--report-every", "5"])
        #expect(await soak.waitForExit(timeout: .seconds(180)) == 0, "\(soak.stdout)\n\(soak.stderr)")
        let output = soak.stdout
        #expect(output.contains("resident memory, start → end"), "\(output)")
        for service in ["bus", "collector", "assets", "backups", "alerts", "rules"] {
            #expect(output.contains("\n  \(service) "), "\(service) in \(output)")
        }
        #expect(output.contains("runs/s  RSS MiB:"))
    }
}
