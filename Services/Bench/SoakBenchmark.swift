import ArgumentParser
import Foundation
import GRDB

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `vectis-bench soak`: the whole system as processes, fed at a steady rate by the Datto sandbox running on
/// a fast clock, for minutes; prints each service's resident memory and CPU at the start and every minute,
/// and at the end whether every run the sandbox showed was recorded.
struct SoakBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run bus + sandbox + the five services at a steady rate; report RSS per service over time.")

    @Option(help: "How long to run after the first sync.") var minutes = 10.0
    @Option var devices = 200
    @Option var agentsPerDevice = 10
    @Option(help: "Hours between one agent's backups in the sandbox; with --speed 60 an hour passes each real minute.")
    var cadenceHours = 1.0
    @Option(help: "Sandbox seconds per real second.") var speed = 60.0
    @Option(help: "Seconds between the collector's polls.") var pollSeconds = 5
    @Option(help: "Seconds between report lines.") var reportEvery = 60.0

    func run() async throws {
        let system = try await SystemProcesses(
            services: ["collector", "assets", "backups", "alerts", "rules"],
            environment: ["VECTIS_DATTO_POLL_INTERVAL_SECONDS": "\(pollSeconds)", "VECTIS_DATTO_REQUESTS_PER_MINUTE": "100000"],
            sandbox: [
                "--customers", "\(max(1, devices / 10))", "--devices-per-customer", "\(min(10, devices))",
                "--agents-per-device", "\(agentsPerDevice)", "--shares-per-device", "0",
                "--failing-agents", "\(devices * agentsPerDevice / 20)", "--cadence-hours", "\(cadenceHours)",
                "--real-time", "--speed", "\(speed)"
            ])
        defer { system.stop() }
        try await SystemProcesses.waitFor(system.url("datto") + "/_sandbox/state", seconds: 30)
        try await system.send(
            "PUT", system.url("collector") + "/v1/integrations/datto",
            body: [
                "publicKey": "sandbox-public-key", "secretKey": "sandbox-secret-7c4f1e9a2b", "region": "us"
            ])
        // Agents start at random minutes, so their runs spread evenly over each cadence: a steady rate.
        let runsPerSecond = Double(devices * agentsPerDevice) * speed / (cadenceHours * 3_600)
        print(
            "soak: \(devices) devices × \(agentsPerDevice) agents, sandbox at ×\(Int(speed)) → \(String(format: "%.1f", runsPerSecond)) new runs/s, "
                + "polled every \(pollSeconds) s, for \(minutes) min; logs in \(system.state.path) (removed at the end unless VECTIS_BENCH_KEEP=1)"
        )

        let database = try DatabaseQueue(path: system.state.appendingPathComponent("backups.sqlite").path)
        func recorded() async throws -> Int {
            try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM backup_jobs") ?? 0 }
        }
        // The first sync's history (10 runs per agent) lands before the clock starts.
        let firstSync = ContinuousClock.now
        while try await recorded() < devices * agentsPerDevice * 9 {
            guard ContinuousClock.now - firstSync < .seconds(600) else {
                throw ValidationError("the first sync did not land in 10 minutes")
            }
            try await Task.sleep(for: .seconds(1))
        }
        let services = system.services
        let startMemory = services.map { ($0.name, SystemProcesses.residentKiB($0.process.processIdentifier)) }
        print(
            String(
                format: "first sync recorded in %.1f s; resident memory at start:", Double(firstSync.duration(to: .now).components.seconds))
        )
        print("  " + system.memoryLine())

        let started = ContinuousClock.now
        var lastCount = try await recorded()
        var lastTime = started
        while started.duration(to: .now) < .milliseconds(Int(minutes * 60_000)) {
            try await Task.sleep(for: .milliseconds(Int(reportEvery * 1_000)))
            let count = try await recorded()
            let now = ContinuousClock.now
            let seconds = Double(lastTime.duration(to: now).components.seconds)
            var line = String(
                format: "%6.1f min  %8d runs  %6.1f runs/s  RSS MiB:", Double(started.duration(to: now).components.seconds) / 60,
                count, Double(count - lastCount) / max(1, seconds))
            for service in services { line += " \(service.name) \(SystemProcesses.residentKiB(service.process.processIdentifier) / 1_024)" }
            var depth = 0.0
            for service in ["collector", "backups", "alerts", "rules"] {
                depth += await SystemProcesses.metric(system.url(service), "vectis_bus_outbox_depth")
            }
            var received = 0.0
            var duplicates = 0.0
            var replayed = 0.0
            for service in ["collector", "assets", "backups", "alerts", "rules"] {
                received += await SystemProcesses.metric(system.url(service), "vectis_bus_received_total")
                duplicates += await SystemProcesses.metric(system.url(service), "vectis_bus_duplicates_skipped_total")
                replayed += await SystemProcesses.metric(system.url(service), "vectis_bus_replayed_messages_total")
            }
            print(
                line
                    + "  unsent outbox rows \(Int(depth))  bus messages received \(Int(received)), duplicates skipped \(Int(duplicates)), replayed \(Int(replayed))"
            )
            lastCount = count
            lastTime = now
        }

        print("resident memory, start → end (CPU seconds used):")
        for (service, (name, before)) in zip(services, startMemory) {
            let after = SystemProcesses.residentKiB(service.process.processIdentifier)
            print(
                "  " + name.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(
                        format: "%5d → %5d MiB  (%+d MiB)  cpu %.1f s", before / 1_024, after / 1_024, (after - before) / 1_024,
                        SystemProcesses.cpuSeconds(service.process.processIdentifier)))
        }
        let truth = try await system.send("GET", system.url("datto") + "/_sandbox/truth")
        let shown = (truth.json["runs"] as? [[String: Any]] ?? []).count
        print("sandbox shows \(shown) runs now (its 10-run window per agent); recorded in total \(try await recorded())")
        // The silence check reads every agent and appliance once a minute, in one write transaction.
        let check = await SystemProcesses.metric(system.url("backups"), "vectis_backups_silence_check_seconds")
        let checks = await SystemProcesses.metric(system.url("backups"), "vectis_backups_silence_checks_total")
        print(
            String(
                format: "silence check: last pass %.1f ms over %d agents (%d passes)", check * 1_000, devices * agentsPerDevice, Int(checks)
            ))
    }
}
