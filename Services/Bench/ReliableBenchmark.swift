import ArgumentParser
import BusService
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage
import ZeroMQ

/// `vectis-bench reliable`: events/s end to end with the outbox and exactly-once apply on, beside the raw
/// bus figure measured in the same run.
struct ReliableBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reliable",
        abstract: "Events/s: outbox append → relay → vectis-bus → exactly-once apply, beside the raw bus.")

    @Option var count = 200_000
    @Option(help: "Events appended per outbox transaction.") var batch = 1_000

    @Flag(help: "Measure only the outbox append alone.") var appendOnly = false
    @Option(help: "Measure with CURVE off, on or both.") var curve: CurveChoice = .both
    @Flag(inversion: .prefixedNo, help: "Measure the raw pair through the bus first (one million messages).") var raw = true
    @Option(help: "Most events per bus message (1: every event alone).") var bundleEvents = BusBundle.defaultEvents

    enum CurveChoice: String, ExpressibleByArgument, CaseIterable {
        case off, on, both
        var modes: [Bool] { self == .both ? [false, true] : [self == .on] }
    }

    func run() async throws {
        try await appendAlone()
        if appendOnly { return }
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        for curve in curve.modes {
            let result = try await Self.measure(
                count: count, batch: batch, curve: curve, bundleEvents: bundleEvents, logger: logger, raw: raw)
            print(
                "raw through vectis-bus, CURVE \(curve ? "on " : "off"):  \(result.raw.summary)\n"
                    + String(format: "outbox append (%d per txn):   %10.0f events/s\n", batch, result.appendRate)
                    + String(
                        format: "reliable end to end, CURVE %@: %10.0f events/s  ratio to raw via bus %.3f  (%d events, %.2f s)\n",
                        curve ? "on " : "off", result.rate, result.rate / result.raw.rate, count, result.seconds)
                    + "  gaps \(result.gaps), duplicates \(result.duplicates), replays \(result.replays)")
        }
    }

    /// What one reliable-path measurement saw.
    struct Result {
        var raw: Measurement
        var appendRate: Double
        var rate: Double
        var seconds: Double
        var gaps: Int
        var duplicates: Int
        var replays: Int
    }

    /// `count` events appended to an outbox (`batch` per transaction), relayed through an in-process `vectis-bus` and
    /// applied exactly once by a subscriber, beside the raw pair through the same bus (a token 1,000 messages when
    /// `raw` is false); with `curve`, the bus authenticates both (as `collector` and `backups`)
    /// and checks each message's identity, topic ownership and stream, as in production.
    static func measure(
        count: Int, batch: Int, curve: Bool, bundleEvents: Int, logger: Logger, raw measureRaw: Bool = true
    ) async throws -> Result {
        let server = try ZMQCurve.keyPair()
        let publisher = try ZMQCurve.keyPair()
        let subscriber = try ZMQCurve.keyPair()
        func keys(_ pair: (publicKey: String, secretKey: String)) -> CurveClientKeys {
            CurveClientKeys(serverPublicKey: server.publicKey, publicKey: pair.publicKey, secretKey: pair.secretKey)
        }
        var result: Result?
        try await withBenchBus(
            logger: logger, curveSecretKey: curve ? server.secretKey : nil,
            allowedClients: curve ? [publisher.publicKey: BusOwnership.collector, subscriber.publicKey: BusOwnership.backups] : [:]
        ) { endpoints in
            let raw = try RawPair.measure(
                count: measureRaw ? 1_000_000 : 1_000, payload: [UInt8](repeating: 0x61, count: 100),
                via: (publish: endpoints.publish, subscribe: endpoints.subscribe),
                curve: curve ? (sender: keys(publisher), receiver: keys(subscriber)) : nil)
            var ownerBus = BusConfiguration(publishEndpoint: endpoints.publish, subscribeEndpoint: endpoints.subscribe)
            var readerBus = ownerBus
            if curve {
                ownerBus.curve = keys(publisher)
                readerBus.curve = keys(subscriber)
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-bench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let owner = try Node(
                bus: ownerBus, service: BusOwnership.collector, instance: "owner",
                path: directory.appendingPathComponent("owner.sqlite").path, subscriptions: [], bundleEvents: bundleEvents,
                logger: logger)
            let reader = try Node(
                bus: readerBus, service: BusOwnership.backups, instance: "reader",
                path: directory.appendingPathComponent("reader.sqlite").path, subscriptions: [.exact(BackupRunObserved.topic)],
                bundleEvents: bundleEvents, logger: logger)
            let group = ServiceGroup(services: owner.bus.services + reader.bus.services, gracefulShutdownSignals: [], logger: logger)
            let nodes = Task { try await group.run() }
            _ = await owner.bus.connection.publisher.waitUntilReady()
            _ = await reader.bus.connection.subscriber!.waitUntilReady()

            let customer = CustomerRef(key: "org:1", name: "Acme")
            let started = ContinuousClock.now
            var appended = 0
            while appended < count {
                let size = min(batch, count - appended)
                let first = appended
                try await owner.database.write { [outbox = owner.bus.outbox] db in
                    for index in first..<(first + size) {
                        try outbox.append(
                            BackupRunObserved(
                                deviceSerial: "A1B2C3", agentVolume: "v\(index % 1000)", agentName: "srv", customer: customer,
                                runAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(index)), rawStatus: "success"),
                            in: db)
                    }
                }
                appended += size
            }
            let appendedAt = ContinuousClock.now
            while try await reader.appliedCount() < count {
                try await Task.sleep(for: .milliseconds(20))
            }
            let elapsed = ContinuousClock.now - started
            result = Result(
                raw: raw, appendRate: Double(count) / seconds(appendedAt - started), rate: Double(count) / seconds(elapsed),
                seconds: seconds(elapsed), gaps: reader.counter("vectis_bus_gaps_detected_total"),
                duplicates: reader.counter("vectis_bus_duplicates_skipped_total"),
                replays: owner.counter("vectis_bus_replays_served_total"))
            await group.triggerGracefulShutdown()
            try await nodes.value
        }
        guard let result else { throw ValidationError("the reliable path was not measured") }
        return result
    }

    /// Outbox appends with nothing else running: the cost of the write side alone.
    func appendAlone() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        let database = try ServiceDatabase.open(at: directory.appendingPathComponent("alone.sqlite").path, migrator: migrator)
        let outbox = try Outbox(stream: "bench/alone", database: database)
        let customer = CustomerRef(key: "org:1", name: "Acme")
        let total = appendOnly ? count : min(count, 100_000)
        let started = ContinuousClock.now
        for first in stride(from: 0, to: total, by: batch) {
            try await database.write { db in
                for index in first..<min(first + batch, total) {
                    try outbox.append(
                        BackupRunObserved(
                            deviceSerial: "A1B2C3", agentVolume: "v\(index % 1000)", agentName: "srv", customer: customer,
                            runAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(index)), rawStatus: "success"),
                        in: db)
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        print(
            String(
                format: "outbox append alone:         %10.0f events/s  (%.1f µs each, %d per transaction)",
                Double(total) / seconds(elapsed), seconds(elapsed) / Double(total) * 1e6, batch))
    }

    struct Node {
        let bus: ReliableBus
        let database: DatabasePool
        let metrics = ServiceMetrics()

        /// `service` names the stream (`<service>/<instance>`): on an authenticated bus it must be the identity it
        /// connects as.
        init(
            bus configuration: BusConfiguration, service: String = "bench", instance: String, path: String, subscriptions: [TopicFilter],
            bundleEvents: Int = BusBundle.defaultEvents, logger: Logger
        ) throws {
            var migrator = DatabaseMigrator()
            DeliveryTables.register(in: &migrator)
            migrator.registerMigration("bench-v1") { db in
                try db.execute(sql: "CREATE TABLE runs (volume TEXT NOT NULL, run_at DOUBLE NOT NULL, PRIMARY KEY (volume, run_at))")
            }
            database = try ServiceDatabase.open(at: path, migrator: migrator)
            let runtime = RuntimeConfiguration(
                service: service, instance: instance, httpPort: 0, bus: configuration,
                delivery: DeliveryConfiguration(bundleEvents: bundleEvents))
            bus = try ReliableBus(
                configuration: runtime, database: database, subscriptions: subscriptions, metrics: metrics, logger: logger
            ) { received, db, _ in
                guard let run = received.event as? BackupRunObserved else { return }
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO runs (volume, run_at) VALUES (?, ?)")
                    .execute(arguments: [run.agentVolume, run.runAt.timeIntervalSince1970])
            }
        }

        func appliedCount() async throws -> Int {
            try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM runs") ?? 0 }
        }

        func counter(_ name: String) -> Int {
            metrics.render().split(separator: "\n").first { $0.hasPrefix(name + " ") }
                .flatMap { Int(Double($0.split(separator: " ").last!) ?? 0) } ?? 0
        }
    }
}
