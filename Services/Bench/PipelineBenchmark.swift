import ArgumentParser
import Foundation
import GRDB
import Histogram
import Logging
import ServiceLifecycle
import Synchronization
import VectisBus
import VectisContracts
import VectisRuntime
import VectisStorage
import ZeroMQ

/// `vectis-bench pipeline`: synthetic `backup.run.observed` events pushed at full speed through `vectis-backups`
/// → `vectis-alerts` → `vectis-rules` (a dry-run rule) running as processes, beside the raw bus and a raw SQLite
/// upsert of the same rows measured in the same run; then latency at half the measured rate.
struct PipelineBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Runs/s and publish → rule-decision latency through backups → alerts → rules, beside the raw bus and SQLite.")

    @OptionGroup var workload: PipelineWorkload.Options

    @Option(help: "Writes every figure of this run to this file as JSON (`make bench`: .build/bench/latest.json).")
    var json: String?

    @Option(help: "Prints each figure's ratio to the run this JSON file (from --json) holds.")
    var compare: String?

    func run() async throws {
        // An earlier run that cannot be read (another version's file) leaves the figures uncompared, not unmeasured.
        var before: PipelineFigures?
        if let compare {
            do {
                before = try PipelineFigures.read(from: compare)
            } catch {
                print("cannot read \(compare) to compare with (\(error)); the figures are printed without ratios")
            }
        }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        // The paths under the pipeline, measured first in the same run so every ratio is taken on the same machine state.
        print("the paths under the pipeline, in this process:")
        let bus = try await BusBenchmark.measure(count: 1_000_000, typedCount: 0, logger: logger) { print("  " + $0) }
        var reliable: [Bool: Double] = [:]
        for curve in [false, true] {
            let result = try await ReliableBenchmark.measure(
                count: 200_000, batch: 1_000, curve: curve, bundleEvents: workload.bundleEvents, logger: logger, raw: false)
            reliable[curve] = result.rate
            print(
                String(
                    format: "  reliable path (outbox → bus → exactly-once apply), CURVE %@: %8.0f events/s", curve ? "on " : "off",
                    result.rate))
        }

        let system = try await SystemProcesses(
            services: ["backups", "alerts", "rules"], environment: ["VECTIS_BUS_BUNDLE_EVENTS": "\(workload.bundleEvents)"])
        defer { system.stop() }
        let outcome = try await PipelineWorkload(options: workload, system: system).run(compare: true)
        print("resident memory after: " + system.memoryLine())
        print(
            "CPU seconds used:      "
                + system.services.map {
                    $0.name + String(format: " %.1f s", SystemProcesses.cpuSeconds($0.process.processIdentifier))
                }.joined(separator: "  "))
        let figures = PipelineFigures(
            rawDirect: bus.direct.rate, builtInProxy: bus.builtInProxy.rate, forwarderCurveOff: bus.curveOff.rate,
            forwarderCurveOn: bus.curveOn.rate,
            reliableCurveOff: reliable[false] ?? 0, reliableCurveOn: reliable[true] ?? 0, sqliteUpsert: outcome.sqliteUpsert ?? 0,
            pipeline: outcome.rate, fullSpeedP99Milliseconds: outcome.fullSpeedP99, pacedRate: outcome.pacedRate,
            pacedP50Milliseconds: outcome.pacedP50, pacedP99Milliseconds: outcome.pacedP99, cpuMicrosecondsPerRun: outcome.cpuPerRun,
            residentMiB: Dictionary(
                uniqueKeysWithValues: system.services.map {
                    ($0.name, Double(SystemProcesses.residentKiB($0.process.processIdentifier)) / 1_024)
                }),
            measuredAt: Date())
        if let json {
            try figures.write(to: json)
            print("figures written to \(json)")
        }
        if let before { print(figures.comparison(to: before)) }
    }
}

/// `vectis-bench memory`: every service's resident memory idle, then after the pipeline workload.
struct MemoryBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory", abstract: "Resident memory of each service idle and after the pipeline workload.")

    @OptionGroup var workload: PipelineWorkload.Options

    @Option(help: "Folder of the services' executables (default: vectis-bench's own; .build/dist/bin: the image's).")
    var binaries: String?

    func run() async throws {
        let system = try await SystemProcesses(
            services: ["collector", "assets", "backups", "alerts", "rules"],
            environment: ["VECTIS_BUS_BUNDLE_EVENTS": "\(workload.bundleEvents)"], binaries: binaries)
        defer { system.stop() }
        print("executables: \(system.binaries.path)")
        try await Task.sleep(for: .seconds(5))
        print("idle (5 s after ready):  " + system.memoryLine())
        print("  of which private MiB:  " + system.privateMemoryLine())
        _ = try await PipelineWorkload(options: workload, system: system).run(compare: false)
        print("after the pipeline:      " + system.memoryLine())
    }
}

/// The workload both modes drive: `agents` agents, one run a night for `nights` nights, a share failing every night.
struct PipelineWorkload {
    struct Options: ParsableArguments {
        @Option var agents = 10_000
        @Option(help: "Runs per agent, one a night.") var nights = 10
        @Option(help: "Percent of agents failing every night.") var failingPercent = 20
        @Option(help: "Runs per outbox transaction, as the collector commits a device at a time.") var batch = 500
        @Option(help: "Seconds of paced publishing for the latency measurement.") var pacedSeconds = 10.0
        @Option(help: "Runs/s for the latency measurement (default: half the measured end-to-end rate).") var pacedRate: Double?
        @Option(help: "Most events per bus message, in every service and path measured (1: every event alone).")
        var bundleEvents = BusBundle.defaultEvents
        @Option(help: "Writes each paced decision as `published-µs latency-µs` (publish time from the first), one a line.")
        var latencyTrace: String?
    }

    let options: Options
    let system: SystemProcesses
    let logger: Logger = {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        return logger
    }()

    /// What the workload measured.
    struct Outcome {
        var rate: Double
        var sqliteUpsert: Double?
        var fullSpeedP99: Double
        var pacedRate: Double
        var pacedP50: Double
        var pacedP99: Double
        /// CPU µs per run of each process during the full-speed phase.
        var cpuPerRun: [String: Double]
    }

    func run(compare: Bool) async throws -> Outcome {
        let total = options.agents * options.nights
        print(
            "pipeline: \(options.agents) agents × \(options.nights) nights = \(total) runs, \(options.failingPercent)% of agents failing, "
                + "\(options.batch) per transaction → backups → alerts → rules (dry run)")
        // The system's bus authenticates (CURVE) like production's: the stand-in collector publishes as `collector`,
        // the listener and the raw pair's receiver connect as `tap`.
        let busConfiguration = try system.busConfiguration(as: BusOwnership.collector)
        let tapConfiguration = try system.busConfiguration(as: BusOwnership.tap)
        var raw: Measurement?
        var sqlite: Double?
        if compare {
            raw = try RawPair.measure(
                count: 1_000_000, payload: [UInt8](repeating: 0x61, count: 100),
                via: (publish: system.busPublish, subscribe: system.busSubscribe),
                curve: (
                    sender: try system.busKeys.clientKeys(identity: BusOwnership.collector),
                    receiver: try system.busKeys.clientKeys(identity: BusOwnership.tap)
                ))
            print("raw PUB→SUB through vectis-bus (CURVE on, checks on): \(raw!.summary)")
            sqlite = try Self.sqliteUpsertRate(rows: total, batch: options.batch)
            print(
                String(
                    format:
                        "raw SQLite batched upsert:          %10.0f rows/s  (the same rows into a backup_jobs table, %d per transaction)",
                    sqlite!, options.batch))
        }

        // Rules in dry run, firing on the first failed night: every failed run is a decision ("not mapped").
        let rule = try await system.send(
            "POST", system.url("rules") + "/v1/rules",
            body: [
                "templateId": "datto-fails-2-nights-connectwise", "thresholdNights": 1, "dryRunHours": 24,
                "settings": ["site": "http://127.0.0.1:9", "companyId": "bench", "publicKey": "bench", "boardId": 1],
                "secrets": ["privateKey": "bench", "clientId": "bench"]
            ])
        guard rule.status == 201 else { throw ValidationError("could not create the rule: \(rule.json)") }

        let directory = system.state.appendingPathComponent("stand-in")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let collector = try ReliableBenchmark.Node(
            bus: busConfiguration, service: BusOwnership.collector, instance: "stand-in",
            path: directory.appendingPathComponent("collector.sqlite").path,
            subscriptions: [], bundleEvents: options.bundleEvents, logger: logger)
        let group = ServiceGroup(services: collector.bus.services, gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        _ = await collector.bus.connection.publisher.waitUntilReady()

        let decisions = DecisionClock()
        let context = try ZMQContext()
        var listenerConfiguration = tapConfiguration
        listenerConfiguration.receiveHighWaterMark = 0
        let listener = BusSubscriber(
            context: context, configuration: listenerConfiguration, filters: [.exact(RuleFired.topic)],
            metrics: BusMetrics(factory: ServiceMetrics().factory), logger: logger)
        _ = await listener.waitUntilReady()
        let listening = Task {
            for await batch in listener.batches {
                let now = ContinuousClock.now
                for item in batch {
                    guard let fired = item.event as? RuleFired else { continue }
                    decisions.decided("\(fired.subject.agentVolume ?? "")/\(fired.failedNightsInARow ?? 0)", at: now)
                }
            }
        }

        // Full speed.
        func cpu() -> [String: Double] {
            Dictionary(
                uniqueKeysWithValues: system.services.map { ($0.name, SystemProcesses.cpuSeconds($0.process.processIdentifier)) })
        }
        let cpuBefore = cpu()
        let appliedBefore = await SystemProcesses.metric(system.url("rules"), "vectis_bus_applied_total")
        let started = ContinuousClock.now
        try await publish(
            collector, prefix: "a", agents: options.agents, nights: options.nights, decisions: decisions, pace: nil, batch: options.batch)
        let published = ContinuousClock.now
        while await SystemProcesses.metric(system.url("rules"), "vectis_bus_applied_total") - appliedBefore < Double(total) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = started.duration(to: .now)
        let cpuAfter = cpu()
        let cpuPerRun = cpuAfter.reduce(into: [String: Double]()) {
            $0[$1.key] = ($1.value - (cpuBefore[$1.key] ?? 0)) / Double(total) * 1e6
        }
        let rate = Double(total) / seconds(elapsed)
        var line = String(
            format: "end to end (publish → rules applied): %8.0f runs/s  (%d runs in %.2f s; published in %.2f s)",
            rate, total, seconds(elapsed), seconds(started.duration(to: published)))
        if let raw, let sqlite {
            line += String(format: "\n  ratio to the raw bus %.3f, to raw SQLite %.2f", rate / raw.rate, rate / sqlite)
        }
        print(line)
        var sizes: [String] = []
        for service in ["backups", "alerts", "rules"] {
            let delivered = await SystemProcesses.metric(system.url(service), "vectis_bus_delivered_total")
            let batches = await SystemProcesses.metric(system.url(service), "vectis_bus_batches_total")
            sizes.append(service + String(format: " %.0f", delivered / max(1, batches)))
        }
        print("  messages per applied batch: " + sizes.joined(separator: ", "))
        try await Task.sleep(for: .seconds(1))
        print("latency publish → rule decision at full speed:   " + decisions.summary())
        let fullSpeedP99 = decisions.milliseconds(at: 99)
        print(
            "CPU per run at full speed:  "
                + cpuPerRun.sorted { $0.key < $1.key }.map { String(format: "%@ %.0f µs", $0.key, $0.value) }.joined(separator: "  ")
                + String(format: "  (all %.0f µs)", cpuPerRun.values.reduce(0, +)))

        // Half that rate, for latency without a queue.
        decisions.reset()
        let paced = options.pacedRate ?? rate / 2
        let pacedAgents = max(1, Int(paced * options.pacedSeconds) / options.nights)
        try await publish(
            collector, prefix: "p", agents: pacedAgents, nights: options.nights, decisions: decisions, pace: paced,
            batch: max(1, Int(paced / 50)))
        try await Task.sleep(for: .seconds(2))
        print(String(format: "latency publish → rule decision at %.0f runs/s: ", paced) + decisions.summary())
        print("  worst decision per 250 ms of publishing: " + decisions.windows(of: .milliseconds(250)))
        if let path = options.latencyTrace {
            try decisions.trace().write(toFile: path, atomically: true, encoding: .utf8)
            print("  every decision written to \(path)")
        }
        let outcome = Outcome(
            rate: rate, sqliteUpsert: sqlite, fullSpeedP99: fullSpeedP99, pacedRate: paced, pacedP50: decisions.milliseconds(at: 50),
            pacedP99: decisions.milliseconds(at: 99), cpuPerRun: cpuPerRun)

        listening.cancel()
        await listener.close()
        await group.triggerGracefulShutdown()
        try await running.value
        return outcome
    }

    /// Appends night by night, `batch` runs per transaction; with `pace`, no faster than that many runs a second
    /// (in small transactions, 50 a second, so a batch's own size does not become the latency).
    func publish(
        _ node: ReliableBenchmark.Node, prefix: String, agents: Int, nights: Int, decisions: DecisionClock, pace: Double?, batch: Int
    ) async throws {
        let midnight = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 - Double(nights + 1) * 86_400
        let everyFailing = max(1, 100 / max(1, options.failingPercent))
        var pending: [(agent: Int, night: Int)] = []
        let started = ContinuousClock.now
        var sent = 0
        for night in 0..<nights {
            for agent in 0..<agents {
                pending.append((agent, night))
                if pending.count == batch || (night == nights - 1 && agent == agents - 1) {
                    let runs = pending
                    pending.removeAll(keepingCapacity: true)
                    try await node.database.write { [outbox = node.bus.outbox] db in
                        for (agent, night) in runs {
                            let failing = agent % everyFailing == 0
                            // Ten agents to an appliance, and an appliance belongs to one customer (as in Datto).
                            let customer = CustomerRef(key: "org:\(agent / 10 % 200)", name: "Customer \(agent / 10 % 200)")
                            try outbox.append(
                                BackupRunObserved(
                                    deviceSerial: "BENCH\(prefix)\(agent / 10)", agentVolume: "\(prefix)-agent-\(agent)",
                                    agentName: "SRV-\(agent)", customer: customer,
                                    runAt: Date(timeIntervalSince1970: midnight + Double(night) * 86_400 + 3_600),
                                    rawStatus: failing ? "failure" : "success",
                                    errorMessage: failing ? "BKP0615 Backup skipped due to not enough free space" : nil, kind: .agent),
                                tenant: "default", customerKey: customer.key, in: db)
                        }
                    }
                    let committed = ContinuousClock.now
                    for (agent, night) in runs where agent % everyFailing == 0 {
                        decisions.published("\(prefix)-agent-\(agent)/\(night + 1)", at: committed)
                    }
                    sent += runs.count
                    if let pace {
                        let due = started + .milliseconds(Int(Double(sent) / pace * 1_000))
                        if due > .now { try await Task.sleep(until: due) }
                    }
                }
            }
        }
    }

    /// Rows per second for a batched upsert of the pipeline's rows into a table shaped like `backup_jobs`.
    static func sqliteUpsertRate(rows: Int, batch: Int) throws -> Double {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-bench-sqlite-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("jobs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE backup_jobs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, tenant TEXT NOT NULL, customer_id TEXT NOT NULL,
                        customer_key TEXT NOT NULL, customer_name TEXT NOT NULL, device_serial TEXT NOT NULL, agent_volume TEXT NOT NULL,
                        agent_name TEXT NOT NULL, run_at DOUBLE NOT NULL, night TEXT NOT NULL, status TEXT NOT NULL, raw_status TEXT NOT NULL,
                        error_message TEXT, first_seen_at DOUBLE NOT NULL, UNIQUE (tenant, device_serial, agent_volume, run_at))
                    """)
        }
        let database = try ServiceDatabase.open(at: path, migrator: migrator)
        let started = ContinuousClock.now
        for first in stride(from: 0, to: rows, by: batch) {
            try database.write { db in
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO backup_jobs (agent_id, tenant, customer_id, customer_key, customer_name, device_serial, agent_volume,
                            agent_name, run_at, night, status, raw_status, error_message, first_seen_at)
                        VALUES (?, 'default', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (tenant, device_serial, agent_volume, run_at) DO NOTHING
                        """)
                for index in first..<min(first + batch, rows) {
                    let agent = index % 10_000
                    try statement.execute(arguments: [
                        "ag_\(agent)", "cu_\(agent / 10 % 200)", "org:\(agent / 10 % 200)", "Customer \(agent / 10 % 200)",
                        "BENCH\(agent / 10)",
                        "agent-\(agent)", "SRV-\(agent)", 1_790_000_000 + Double(index / 10_000) * 86_400, "2026-09-01", "success",
                        "success", nil, 1_790_000_000.0
                    ])
                }
            }
        }
        return Double(rows) / seconds(started.duration(to: .now))
    }
}

/// When each failed run was committed, and when the rules service's decision about it came back.
final class DecisionClock: Sendable {
    private struct State {
        var published: [String: ContinuousClock.Instant] = [:]
        var histogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        /// Every decision as (published, latency µs), to see when in the run the slow ones were published.
        var decisions: [(published: ContinuousClock.Instant, micros: UInt64)] = []
        var unmatched = 0
        var sampleUnmatched: String?
    }
    private let state = Mutex(State())

    func published(_ key: String, at instant: ContinuousClock.Instant) {
        state.withLock { $0.published[key] = instant }
    }

    func decided(_ key: String, at instant: ContinuousClock.Instant) {
        state.withLock { state in
            guard let published = state.published.removeValue(forKey: key) else {
                state.unmatched += 1
                state.sampleUnmatched = state.sampleUnmatched ?? key
                return
            }
            let elapsed = published.duration(to: instant)
            let micros = UInt64(
                clamping: max(0, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000))
            state.histogram.record(micros)
            state.decisions.append((published, micros))
        }
    }

    /// How the worst decision is spread over time: windows of `width` by publish time, counted by their worst latency
    /// (a steady tail shows in every window, a periodic stall in a few).
    func windows(of width: Duration) -> String {
        state.withLock { state in
            guard let first = state.decisions.map(\.published).min() else { return "no decisions" }
            var worst: [Int: UInt64] = [:]
            for decision in state.decisions {
                let window = Int(first.duration(to: decision.published) / width)
                worst[window] = max(worst[window] ?? 0, decision.micros)
            }
            let bounds: [(String, ClosedRange<UInt64>)] = [
                ("< 25 ms", 0...24_999), ("25–50 ms", 25_000...49_999), ("50–100 ms", 50_000...99_999),
                ("≥ 100 ms", 100_000...UInt64.max)
            ]
            return bounds.map { label, range in "\(worst.values.filter { range.contains($0) }.count) \(label)" }
                .joined(separator: ", ") + " (of \(worst.count) windows)"
        }
    }

    /// `published-µs latency-µs` per decision, in publish order.
    func trace() -> String {
        state.withLock { state in
            guard let first = state.decisions.map(\.published).min() else { return "" }
            return state.decisions.sorted { $0.published < $1.published }.map { decision in
                let offset = first.duration(to: decision.published)
                return "\(offset.components.seconds * 1_000_000 + offset.components.attoseconds / 1_000_000_000_000) \(decision.micros)"
            }.joined(separator: "\n") + "\n"
        }
    }

    func reset() { state.withLock { $0 = State() } }

    /// The latency at `percentile`, in milliseconds.
    func milliseconds(at percentile: Double) -> Double {
        state.withLock { Double($0.histogram.valueAtPercentile(percentile)) / 1_000 }
    }

    /// `p50 … p99 … max (n decisions)` in milliseconds.
    func summary() -> String {
        state.withLock { state in
            let h = state.histogram
            func ms(_ percentile: Double) -> String { String(format: "%.1f", Double(h.valueAtPercentile(percentile)) / 1_000) }
            return "p50 \(ms(50)) ms  p90 \(ms(90)) ms  p99 \(ms(99)) ms  max \(String(format: "%.1f", Double(h.max) / 1_000)) ms"
                + "  (\(h.totalCount) decisions, \(state.published.count) missing"
                + (state.unmatched > 0 ? ", \(state.unmatched) repeats ignored" : "") + ")"
        }
    }
}
