import ArgumentParser
import Foundation
import GRDB
import Hummingbird
import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Options shared by the reliable publisher and consumer fixtures.
struct ServiceOptions: ParsableArguments {
    @OptionGroup var endpoints: Endpoints
    @Option(help: "SQLite file of this fixture.") var db: String
    @Option var service = "probe"
    @Option var instance = "1"
    @Option var heartbeatMs = 500
    @Option var httpPort = 0
    @Option var rcvhwm: Int32 = 100_000
    @Option(help: "A fixed kernel receive buffer in bytes (none: TCP autotuning).") var rcvbuf: Int32?
    @Option var outboxMaxRows = 1_000_000

    func runtime() -> RuntimeConfiguration {
        var bus = endpoints.bus
        bus.receiveHighWaterMark = rcvhwm
        bus.receiveBufferBytes = rcvbuf
        var delivery = DeliveryConfiguration(heartbeatInterval: .milliseconds(heartbeatMs))
        delivery.outboxMaxRows = outboxMaxRows
        delivery.pruneInterval = .milliseconds(500)
        delivery.replayRetryAfter = .milliseconds(500)
        return RuntimeConfiguration(
            service: service, instance: instance, httpPort: httpPort, bus: bus, logLevel: .info, delivery: delivery)
    }

    func database() throws -> DatabasePool {
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("probe-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE applied (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        stream TEXT NOT NULL, topic TEXT NOT NULL, seq INTEGER NOT NULL, volume TEXT NOT NULL,
                        replay INTEGER NOT NULL
                    )
                    """)
        }
        return try ServiceDatabase.open(at: db, migrator: migrator)
    }
}

/// Runs `services` with an HTTP server (health, metrics) until SIGTERM, while `work` runs beside them.
func runService(
    _ options: ServiceOptions, bus: ReliableBus, metrics: ServiceMetrics, logger: Logger,
    work: @escaping @Sendable () async throws -> Void
) async throws {
    let runtime = options.runtime()
    let (application, _) = ServiceApplication.build(
        configuration: runtime, metrics: metrics, router: Router(), services: bus.services + [Worker(work: work)],
        checks: [bus.readinessCheck], logger: logger)
    try await application.runService()
}

/// The fixture's own work, stopped by graceful shutdown like every other part.
struct Worker: Service {
    let work: @Sendable () async throws -> Void
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await work()
            try await gracefulShutdown()
        }
    }
}

func write(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Appends backup runs to its outbox (numbered `volume-<seq>`) on each `publish N` line of standard input.
struct OutboxPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "outbox-publish")
    @OptionGroup var options: ServiceOptions
    @Option(help: "Events per transaction.") var batch = 100
    @Option(help: "Events per second (0: as fast as possible).") var rate = 0
    @Flag(help: "Commit but never start the relay (as if killed between commit and send).") var holdRelay = false

    func run() async throws {
        var logger = Logger(label: "probe-publisher")
        logger.logLevel = .notice
        let metrics = ServiceMetrics()
        let database = try options.database()
        let bus = try ReliableBus(
            configuration: options.runtime(), database: database, subscriptions: [], metrics: metrics, logger: logger)
        let services: [any Service] = holdRelay ? bus.services.filter { !($0 is OutboxRelay) } : bus.services
        let (application, _) = ServiceApplication.build(
            configuration: options.runtime(), metrics: metrics, router: Router(),
            services: services + [Worker { try await publishFromStdin(bus.outbox, database) }],
            checks: [bus.readinessCheck], logger: logger)
        write("ready")
        try await application.runService()
    }

    func publishFromStdin(_ outbox: Outbox, _ database: DatabasePool) async throws {
        let customer = CustomerRef(key: "org:1", name: "Acme")
        let batch = self.batch
        let rate = self.rate
        for await line in standardInputLines() {
            let parts = line.split(separator: " ")
            guard parts.count == 2, parts[0] == "publish", let count = Int(parts[1]) else { continue }
            var remaining = count
            let started = ContinuousClock.now
            var done = 0
            while remaining > 0 {
                let size = min(batch, remaining)
                try await database.write { db in
                    for _ in 0..<size {
                        let seq =
                            (try UInt64.fetchOne(
                                db, sql: "SELECT last_seq FROM bus_outbox_sequence WHERE topic = ?",
                                arguments: [Shard.wireTopic(BackupRunObserved.topic, tenant: "default")]) ?? 0) + 1
                        try outbox.append(
                            BackupRunObserved(
                                deviceSerial: "SERIAL1", agentVolume: "volume-\(seq)", agentName: "server",
                                customer: customer, runAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(seq)),
                                rawStatus: "success"),
                            customerKey: customer.key, in: db)
                    }
                }
                remaining -= size
                done += size
                if rate > 0 {
                    let due = started + .milliseconds(done * 1000 / rate)
                    if due > .now { try await Task.sleep(until: due) }
                }
            }
            let total = try await database.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT last_seq FROM bus_outbox_sequence WHERE topic = ?",
                    arguments: [Shard.wireTopic(BackupRunObserved.topic, tenant: "default")]) ?? 0
            }
            write("committed \(total)")
        }
    }
}

/// Applies every backup run it receives into its `applied` table, exactly once, until SIGTERM.
struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "consume")
    @OptionGroup var options: ServiceOptions
    @Option(name: .customLong("topic")) var topics: [String] = ["backup.run.observed"]
    @Option(help: "Microseconds each apply takes (a slow consumer).") var applyDelayUs = 0

    func run() async throws {
        var logger = Logger(label: "probe-consumer")
        logger.logLevel = .notice
        let metrics = ServiceMetrics()
        let database = try options.database()
        let delay = applyDelayUs
        let bus = try ReliableBus(
            configuration: options.runtime(), database: database, subscriptions: topics.map(TopicFilter.init),
            metrics: metrics, logger: logger
        ) { received, db, _ in
            guard let run = received.event as? BackupRunObserved else { return }
            if delay > 0 { usleep(UInt32(delay)) }
            try db.execute(
                sql: "INSERT INTO applied (stream, topic, seq, volume, replay) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    received.header.stream, Shard.baseTopic(received.topic), received.header.seq, run.agentVolume,
                    received.header.replay == true
                ])
        }
        let connection = bus.connection
        try await runService(options, bus: bus, metrics: metrics, logger: logger) {
            _ = await connection.subscriber!.waitUntilReady()
            write("ready")
        }
    }
}

/// Lines of standard input, read on their own thread (a blocking read must not sit on the concurrency pool).
func standardInputLines() -> AsyncStream<String> {
    AsyncStream { continuation in
        let thread = Thread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }
        thread.start()
    }
}
