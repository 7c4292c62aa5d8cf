import ArgumentParser
import BusService
import CollectorService
import DattoSandbox
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VectisBus
import VectisContracts
import VectisRuntime
import ZeroMQ

/// `vectis-bench sync`: the collector against a large sandbox fleet, both in this process on one bus.
///
/// 1. The first full sync with Datto's rate limit lifted: wall time, requests, runs published.
/// 2. Under the real budget (100 requests a minute per key, a poll every 5 minutes, 450 requests a poll), how
///    long after a newly failed agent's run Datto shows it until the collector has published it — with the
///    planner's due-first order and with a plain round-robin. Datto's clock runs `speed` times faster than the
///    wall's, and so does the budget's window, so a night of polling takes minutes; every figure is in Datto time.
struct SyncBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "First-sync time, and failure detection delay under Datto's rate limit, for a large fleet.")

    @Option var devices = 2_000
    @Option var agentsPerDevice = 10
    @Option(help: "Agents made to fail before the night's backups.") var newFailures = 100
    @Option(help: "Datto seconds per wall second in the budgeted part.") var speed = 120.0
    @Option(help: "Datto hours simulated in the budgeted part.") var hours = 6.0
    @Flag(help: "Skip the lifted-limit first sync.") var skipFirstSync = false
    @Flag(help: "Only the fleet whose agents each start at their own minute.") var perAgentOnly = false
    @Flag(help: "Only the fleet whose devices each back up on one schedule.") var applianceOnly = false
    @Option(help: "Only this polling strategy (due-first or round-robin).") var strategy: String?
    @Option(help: "Appliances with Datto alerts of their own (each costs a read while it has them).") var devicesWithAlerts = 0
    @Option(help: "SaaS Protection domains per customer (each costs a read).") var saasDomainsPerCustomer = 0
    @Option(help: "Endpoint Backup agents per customer (read in pages of 100).") var endpointsPerCustomer = 0

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        try await withBenchBus(logger: logger) { endpoints in
            let bus = BusConfiguration(publishEndpoint: endpoints.publish, subscribeEndpoint: endpoints.subscribe)
            if !skipFirstSync { try await firstSync(bus: bus, logger: logger) }
            for perDevice in perAgentOnly ? [false] : applianceOnly ? [true] : [true, false] {
                print(
                    perDevice
                        ? "fleet A: the agents of a device back up together (one schedule per appliance), 01:00–04:00"
                        : "fleet B: every agent starts at its own minute, 01:00–04:00 (10 runs per device spread over the window)")
                for strategy in [PollPlanner.Strategy.dueFirst, .roundRobin] where self.strategy.map({ $0 == strategy.rawValue }) ?? true {
                    try await detection(bus: bus, strategy: strategy, schedulePerDevice: perDevice, logger: logger)
                }
            }
        }
    }

    func fleet(start: Date = FleetConfiguration.defaultStart, realTime: Bool = false, schedulePerDevice: Bool = false) -> FleetConfiguration
    {
        var fleet = FleetConfiguration(
            customers: max(1, devices / 10), devicesPerCustomer: min(10, devices), agentsPerDevice: agentsPerDevice, sharesPerDevice: 0,
            failingAgents: 0, agentsWithoutBackupsEvery: 0, unassignedDevices: 0, start: start, realTime: realTime, speed: speed)
        fleet.schedulePerDevice = schedulePerDevice
        fleet.saasDomainsPerCustomer = saasDomainsPerCustomer
        fleet.endpointsPerCustomer = endpointsPerCustomer
        return fleet
    }

    /// Part 1: everything read as fast as the sandbox answers.
    func firstSync(bus: BusConfiguration, logger: Logger) async throws {
        try await withSystem(fleet: fleet(), bus: bus, logger: logger, configure: { $0.requestsPerWindow = 1_000_000 }) { system in
            system.raiseDeviceAlerts(devicesWithAlerts)
            let started = ContinuousClock.now
            try await system.configureAndWaitForFirstSync()
            let elapsed = started.duration(to: .now)
            let counts = try await system.integration()["counts"] as? [String: Any] ?? [:]
            print(
                String(
                    format:
                        "first sync, rate limit lifted: %d devices, %d agents, %d runs published, %d requests in %.1f s (%.0f requests/s)",
                    counts["devices"] as? Int ?? 0, counts["agents"] as? Int ?? 0, counts["runsObserved"] as? Int ?? 0,
                    counts["requests"] as? Int ?? 0, seconds(elapsed), Double(counts["requests"] as? Int ?? 0) / seconds(elapsed)))
            print(
                String(
                    format: "  at Datto's 100 requests a minute the same sync needs %.0f minutes",
                    Double(counts["requests"] as? Int ?? 0) / 100))
            print("  requests by what they read: \(system.spending())")
        }
    }

    /// Part 2: failures detected under the budget (100 requests a minute, a poll every 5 minutes spending at most
    /// 450), with one strategy.
    func detection(bus: BusConfiguration, strategy: PollPlanner.Strategy, schedulePerDevice: Bool, logger: Logger) async throws {
        // Start the sandbox at 00:30 so the night's backups (01:00–04:00) come soon after the first sync.
        let midnight = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let fleet = fleet(start: Date(timeIntervalSince1970: midnight + 1_800), realTime: true, schedulePerDevice: schedulePerDevice)
        let window = Duration.milliseconds(Int(60_000 / speed))
        // The sandbox counts requests per Datto minute too, to show the budget held.
        try await withSystem(
            fleet: fleet, bus: bus, logger: logger, sandboxWindow: window,
            configure: { configuration in
                configuration.requestsPerWindow = 100
                configuration.rateWindow = window
                configuration.pollInterval = .seconds(300)
                configuration.requestsPerPoll = 450
                configuration.pollStrategy = strategy
                configuration.pollTick = .milliseconds(Int(max(5, 1_000 / speed * 5)))  // 5 Datto seconds
            }
        ) { system in
            let detections = Mutex<[String: Date]>([:])
            let context = try ZMQContext()
            let listener = BusSubscriber(
                context: context, configuration: bus, filters: [.exact(BackupRunObserved.topic)],
                metrics: BusMetrics(factory: ServiceMetrics().factory), logger: logger)
            _ = await listener.waitUntilReady()
            let sandbox = system.sandbox
            let listening = Task {
                for await batch in listener.batches {
                    let now = sandbox.now
                    for item in batch {
                        guard let run = item.event as? BackupRunObserved, !run.succeeded else { continue }
                        detections.withLock { $0["\(run.agentVolume)@\(Int(run.runAt.timeIntervalSince1970))"] = now }
                    }
                }
            }
            system.raiseDeviceAlerts(devicesWithAlerts)
            try await system.configureAndWaitForFirstSync()
            let firstSyncDone = sandbox.now
            let spentOnFirstSync = sandbox.requestsBySurface()
            var random = SystemRandomNumberGenerator()
            let chosen = sandbox.assets().filter(\.hasRuns).shuffled(using: &random).prefix(newFailures)
            for asset in chosen { _ = sandbox.fail(volume: asset.volume, nights: 2) }
            let horizon = firstSyncDone.addingTimeInterval(hours * 3_600)
            while sandbox.now < horizon { try await Task.sleep(for: .seconds(1)) }

            // Each failed run the sandbox shows, against the moment the collector published it.
            let failed = sandbox.visibleRuns().filter { !$0.succeeded && $0.timestamp > firstSyncDone }
            let seen = detections.withLock { $0 }
            var delays: [Double] = []
            var missed = 0
            for run in failed {
                if let at = seen["\(run.volume)@\(Int(run.timestamp.timeIntervalSince1970))"] {
                    delays.append(at.timeIntervalSince(run.timestamp))
                } else {
                    missed += 1
                }
            }
            delays.sort()
            func minutes(_ value: Double?) -> String { value.map { String(format: "%.1f min", $0 / 60) } ?? "–" }
            let median = delays.isEmpty ? nil : delays[delays.count / 2]
            let p90 = delays.isEmpty ? nil : delays[min(delays.count - 1, delays.count * 9 / 10)]
            let withinInterval = delays.filter { $0 <= 300 }.count
            let counts = try await system.integration()["counts"] as? [String: Any] ?? [:]
            print(
                "  \(strategy.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)): "
                    + "\(failed.count) failed runs in \(Int(hours)) h; detected \(delays.count), median \(minutes(median)), p90 \(minutes(p90)), worst \(minutes(delays.last)), "
                    + "\(withinInterval) within one 5-min poll interval"
                    + (missed > 0 ? ", \(missed) not yet detected at the end" : "")
                    + "; peak requests in a minute \(sandbox.maxRequestsPerWindow(publicKey: "sandbox-public-key")), last poll \(counts["requests"] as? Int ?? 0) requests"
            )
            let spent = sandbox.requestsBySurface().merging(spentOnFirstSync.mapValues { -$0 }, uniquingKeysWith: +)
            print("    after the first sync, requests by what they read: \(BenchCollector.describe(spent))")
            // Each poll reads the whole device list (100 a page) once.
            let polls = Double(spent[.deviceList] ?? 0) / Double((devices + 99) / 100)
            print(String(format: "    %.0f polls in %.0f h (one every %.1f min)", polls, hours, hours * 60 / max(polls, 1)))
            if let saasReads = spent[.saas], saasDomainsPerCustomer > 0, saasReads > 0 {
                // One list read per poll, the rest one per domain.
                let perDomain = max(0, Double(saasReads) - polls) / Double(max(1, sandbox.saasDomains().count))
                print(String(format: "    each SaaS domain read %.1f times (every %.1f min)", perDomain, hours * 60 / max(perDomain, 1)))
            }
            if endpointsPerCustomer > 0 {
                let pages = Double((sandbox.endpoints().count + 99) / 100)
                let reads = Double(spent[.endpoints] ?? 0) / pages
                print(
                    String(format: "    the Endpoint Backup list read whole %.1f times (every %.1f min)", reads, hours * 60 / max(reads, 1))
                )
            }
            listening.cancel()
            await listener.close()
        }
    }

    /// A sandbox and a collector on the bench bus, both in this process; `body` runs while they do.
    func withSystem(
        fleet: FleetConfiguration, bus: BusConfiguration, logger: Logger, sandboxWindow: Duration = .seconds(60),
        configure: (inout CollectorConfiguration) -> Void,
        _ body: (BenchCollector) async throws -> Void
    ) async throws {
        let sandboxPort = try SystemProcesses.freePort()
        let collectorPort = try SystemProcesses.freePort()
        let (sandboxApp, sandbox) = buildDattoSandbox(
            DattoSandboxConfiguration(port: sandboxPort, fleet: fleet, rateWindow: sandboxWindow), logger: logger)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-bench-sync-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var runtime = RuntimeConfiguration(
            service: "collector", instance: "bench", httpPort: collectorPort, bus: bus, dataDirectory: directory.path)
        runtime.delivery.outboxMaxRows = 5_000_000
        var regions = DattoRegions()
        regions.baseURLs["us"] = URL(string: "http://127.0.0.1:\(sandboxPort)/v1")!
        var configuration = CollectorConfiguration(
            runtime: runtime, regions: regions, concurrency: 8, adminToken: "bench",
            secretKeyFile: directory.appendingPathComponent("secret.key").path)
        configuration.clock = { sandbox.now }
        configure(&configuration)
        let collectorApp = try CollectorService.buildApplication(configuration, metrics: ServiceMetrics(), logger: logger).application
        let group = ServiceGroup(services: [sandboxApp, collectorApp], gracefulShutdownSignals: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let system = BenchCollector(sandbox: sandbox, url: "http://127.0.0.1:\(collectorPort)")
            try await SystemProcesses.waitFor(system.url + "/healthz", seconds: 30)
            try await body(system)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// The collector under measurement and the sandbox it reads.
struct BenchCollector {
    let sandbox: SandboxState
    let url: String

    func integration() async throws -> [String: Any] {
        let list = try await Self.send("GET", url + "/v1/integrations/datto")
        return (list["integrations"] as? [[String: Any]])?.first ?? [:]
    }

    /// Datto raises an alert of its own on the first `count` appliances.
    func raiseDeviceAlerts(_ count: Int) {
        for device in sandbox.inventory().prefix(count) {
            _ = sandbox.raiseDeviceAlert(serialNumber: device.serialNumber, type: "backup-stale")
        }
    }

    /// The requests the sandbox answered so far, by what they read.
    func spending() -> String { Self.describe(sandbox.requestsBySurface()) }

    static func describe(_ counts: [DattoSurface: Int]) -> String {
        DattoSurface.allCases.compactMap { surface in counts[surface].flatMap { $0 > 0 ? "\(surface.rawValue) \($0)" : nil } }
            .joined(separator: ", ")
    }

    /// Saves the sandbox's keys (which starts the first sync) and waits until that sync has finished.
    func configureAndWaitForFirstSync() async throws {
        _ = try await Self.send(
            "PUT", url + "/v1/integrations/datto",
            [
                "publicKey": "sandbox-public-key", "secretKey": "sandbox-secret-7c4f1e9a2b", "region": "us"
            ])
        while true {
            let current = try await integration()
            // A finished sync sets lastSyncAt; under a tight budget the next poll may already be under way.
            if current["lastSyncAt"] != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func send(_ method: String, _ url: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        try await SystemProcesses.send(method, url, token: "bench", body: body).json
    }
}
