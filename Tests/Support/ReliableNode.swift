import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import VectisBus
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// One service's reliable bus, in this process, with its own SQLite file and a table of what it applied.
public final class ReliableNode: Sendable {
    public let bus: ReliableBus
    public let database: DatabasePool
    /// The node's SQLite file (a new node on the same path is the same service restarted).
    public let path: String
    /// While true, the handler refuses `refuseJob` (turn it off to let a dead letter be applied again).
    public let refusing = Flag(true)
    public let metrics: ServiceMetrics
    public let group: ServiceGroup
    private let task: Mutex<Task<Void, Error>?> = Mutex(nil)

    /// A node on any bus (a `vectis-bus` process, say).
    public convenience init(
        _ configuration: BusConfiguration, service: String = "test", instance: String, subscriptions: [TopicFilter] = []
    ) throws {
        try self.init(busConfiguration: configuration, service: service, instance: instance, subscriptions: subscriptions)
    }

    /// A node on a test bus, connected as `service` (on a CURVE bus the identity whose topics it may publish).
    public convenience init(
        _ testBus: TestBus, service: String = "test", instance: String, subscriptions: [TopicFilter] = [], forwardAsRuns: Bool = false,
        refuseJob: Int64? = nil,
        delivery: DeliveryConfiguration = DeliveryConfiguration(heartbeatInterval: .milliseconds(200), replayRetryAfter: .milliseconds(300))
    ) throws {
        try self.init(
            busConfiguration: testBus.configuration(as: testBus.keys == nil ? BusOwnership.tap : service), service: service,
            instance: instance, subscriptions: subscriptions, forwardAsRuns: forwardAsRuns,
            refuseJob: refuseJob, delivery: delivery)
    }

    /// `busyFailures`: the handler fails with SQLITE_BUSY this many times before it takes `busyJob`.
    public init(
        busConfiguration: BusConfiguration, service: String = "test", instance: String, subscriptions: [TopicFilter] = [],
        forwardAsRuns: Bool = false, refuseJob: Int64? = nil,
        delivery: DeliveryConfiguration = DeliveryConfiguration(
            heartbeatInterval: .milliseconds(200), replayRetryAfter: .milliseconds(300)),
        path given: String? = nil, busyJob: Int64? = nil, busyFailures: Int = 0
    ) throws {
        let path =
            given
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("vectis-node-\(UUID().uuidString)/\(instance).sqlite").path
        self.path = path
        let busyLeft = Mutex(busyFailures)
        let refusing = self.refusing
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        migrator.registerMigration("test-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE applied (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT, topic TEXT, seq INTEGER, job INTEGER, key TEXT
                    );
                    CREATE TABLE jobs (id INTEGER PRIMARY KEY);
                    """)
        }
        database = try ServiceDatabase.open(at: path, migrator: migrator)
        metrics = ServiceMetrics()
        let runtime = RuntimeConfiguration(
            service: service, instance: instance, httpPort: 0, bus: busConfiguration, delivery: delivery)
        bus = try ReliableBus(
            configuration: runtime, database: database, subscriptions: subscriptions, metrics: metrics,
            logger: TestBus.quietLogger
        ) { received, db, outbox in
            let job =
                (received.event as? BackupJobRecorded)?.jobId
                ?? (received.event as? BackupRunObserved)
                .flatMap { Int64($0.agentVolume.dropFirst("job-".count)) }
            struct Refused: Error {}
            if let busyJob, job == busyJob,
                busyLeft.withLock({ left in
                    defer { left -= 1 }
                    return left > 0
                })
            {
                throw DatabaseError(resultCode: .SQLITE_BUSY, message: "database is locked (test)")
            }
            try db.execute(
                sql: "INSERT INTO applied (stream, topic, seq, job, key) VALUES (?, ?, ?, ?, ?)",
                arguments: [received.header.stream, Shard.baseTopic(received.topic), received.header.seq, job, Self.key(of: received.event)]
            )
            // Refused after writing: what the handler wrote for a refused message must not be kept.
            if let refuseJob, job == refuseJob, refusing.value { throw Refused() }
            // A middle service: what it applies causes an event of its own, committed in the same transaction.
            if forwardAsRuns, let recorded = received.event as? BackupJobRecorded {
                try outbox.append(
                    BackupRunObserved(
                        deviceSerial: recorded.deviceSerial, agentVolume: "job-\(recorded.jobId)", agentName: recorded.agentName,
                        customer: recorded.customer, runAt: recorded.runAt, rawStatus: recorded.rawStatus),
                    customerKey: recorded.customer.key, correlationId: received.header.messageId.uuidString, in: db)
            }
        }
        group = ServiceGroup(services: bus.services, gracefulShutdownSignals: [], logger: TestBus.quietLogger)
        let group = self.group
        task.withLock { $0 = Task { try await group.run() } }
    }

    /// What an event is about, as one string: the device, the agent, or the run.
    public static func key(of event: (any BusEvent)?) -> String? {
        switch event {
        case let device as DattoDeviceSeen: device.serialNumber
        case let agent as DattoAgentSeen: "\(agent.deviceSerial)/\(agent.volume)"
        case let run as BackupRunObserved: "\(run.deviceSerial)/\(run.agentVolume)/\(Int(run.runAt.timeIntervalSince1970))"
        case let progress as CollectorSyncProgress: "\(progress.syncId)/\(progress.percent)"
        case let change as AssetAgentChanged: "\(change.change.rawValue)/\(change.deviceSerial)/\(change.volume)"
        case let condition as BackupConditionChanged:
            "\(condition.kind.rawValue)/\(condition.change.rawValue)/\(condition.deviceSerial)/\(condition.agentVolume ?? "-")/\(condition.days)"
        case let retry as BackupRetryRequested: "requested/\(retry.deviceSerial)/\(retry.agentVolume)"
        case let retry as BackupRetryCompleted:
            "\(retry.outcome.rawValue)/repolled:\(retry.repolled)/link:\(retry.remoteWebURL != nil)/\(retry.detail)"
        default: nil
        }
    }

    /// Keys applied for `topic`, in apply order.
    public func keys(_ topic: String) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM applied WHERE topic = ? ORDER BY id", arguments: [topic])
        }
    }

    public var stream: String { bus.connection.publisher.stream }

    public func waitUntilReady() async -> Bool {
        let publisher = await bus.connection.publisher.waitUntilReady()
        let subscriber = await bus.connection.subscriber!.waitUntilReady()
        return publisher && subscriber
    }

    /// Appends `count` recorded jobs to the outbox, `perTransaction` at a time.
    public func publish(_ ids: ClosedRange<Int64>) async throws {
        try await database.write { [bus] db in
            for id in ids { try bus.outbox.append(BackupJobRecorded.sample(id), in: db) }
        }
    }

    public func applied() throws -> [(stream: String, seq: Int, job: Int?)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT stream, seq, job FROM applied ORDER BY id").map {
                ($0["stream"], $0["seq"], $0["job"])
            }
        }
    }

    public func counter(_ name: String) -> Int {
        metrics.render().split(separator: "\n").first { $0.hasPrefix(name + " ") && !$0.hasPrefix("#") }
            .flatMap { Int(Double($0.split(separator: " ").last!) ?? 0) } ?? 0
    }

    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.withLock { $0 }?.value
    }
}

/// Polls `condition` until it holds or the timeout passes.
public func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

public enum BusConfigurationFactory {
    public static func make(publish: String, subscribe: String) -> BusConfiguration {
        BusConfiguration(publishEndpoint: publish, subscribeEndpoint: subscribe)
    }
}

/// A boolean shared between a test and a handler.
public final class Flag: Sendable {
    private let state: Mutex<Bool>
    public init(_ value: Bool) { state = Mutex(value) }
    public var value: Bool {
        state.withLock { $0 }
    }
    public func set(_ value: Bool) { state.withLock { $0 = value } }
}
