import GRDB
import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts
import VectisDelivery

/// Everything a service needs to be on the bus without losing a message: its connection, its outbox and the
/// relay that sends it, a consumer that applies what it subscribes to exactly once, and its heartbeat.
///
/// Add `services` to the service's application in this order; graceful shutdown runs in reverse, so the
/// heartbeat stops first, the consumer finishes its batch, the relay sends what was committed, and only then
/// the connection drains and closes.
public final class ReliableBus: Sendable {
    public let connection: BusConnection
    public let outbox: Outbox
    public let relay: OutboxRelay
    public let consumer: BusConsumer
    public let heartbeat: HeartbeatService
    /// Keeps the database's write-ahead log copied back into its file off the writer's path.
    public let checkpointer: WALCheckpointer
    public let metrics: DeliveryMetrics
    /// What this service publishes, for `GET /v1/events` (Server-Sent Events).
    public let broadcast = EventBroadcast()
    /// The service's own database (read by `/readyz`).
    let database: DatabasePool

    /// Applies one received message inside the batch's transaction; append to the outbox it is given to
    /// publish what the message caused in the same commit.
    public typealias Handler = @Sendable (ReceivedEvent, Database, Outbox) throws -> Void

    /// `subscriptions` are the data topics `handler` applies; control topics are added here.
    public init(
        configuration: RuntimeConfiguration, database: DatabasePool, subscriptions: [TopicFilter],
        metrics serviceMetrics: ServiceMetrics, logger: Logger, version: String = VectisVersion.current,
        handler: @escaping Handler = { _, _, _ in }
    ) throws {
        if configuration.bus.curve == nil {
            logger.warning(
                "connecting to the bus WITHOUT authentication (VECTIS_BUS_INSECURE): development only")
        }
        let subscriptions = Self.sharded(subscriptions, configuration.shard)
        connection = try BusConnection(
            configuration: configuration, subscriptions: subscriptions + BusConsumer.controlFilters,
            metrics: serviceMetrics, logger: logger)
        metrics = DeliveryMetrics(factory: serviceMetrics.factory)
        self.database = database
        let outbox = try Outbox(stream: configuration.stream, database: database)
        self.outbox = outbox
        relay = OutboxRelay(
            outbox: outbox, publisher: connection.publisher, configuration: configuration.delivery, metrics: metrics,
            logger: logger, broadcast: broadcast)
        consumer = BusConsumer(
            subscriber: connection.subscriber!, publisher: connection.publisher, database: database,
            filters: subscriptions, relay: relay, configuration: configuration.delivery, metrics: metrics,
            logger: logger, handler: { received, db in try handler(received, db, outbox) })
        heartbeat = HeartbeatService(
            service: configuration.service, instance: configuration.instance, version: version,
            publisher: connection.publisher, outbox: outbox, relay: relay,
            interval: configuration.delivery.heartbeatInterval,
            logger: logger)
        checkpointer = WALCheckpointer(database: database, logger: logger)
    }

    public var services: [any Service] { [checkpointer, connection, relay, consumer, heartbeat] }

    /// A replica `i/n` subscribes to its buckets of each exact topic only, so the bus never sends it other tenants.
    static func sharded(_ filters: [TopicFilter], _ shard: ShardAssignment?) -> [TopicFilter] {
        guard let shard, shard.count > 1 else { return filters }
        let owned = Shard.owned(index: shard.index, of: shard.count)
        return filters.flatMap { filter -> [TopicFilter] in
            guard case .exact(let topic) = filter else { return [filter] }
            return owned.map { .exact(topic + Shard.suffix($0)) }
        }
    }

    /// Ready when the publisher's probe came back and the service's own heartbeat keeps coming back.
    public var readinessCheck: ReadinessCheck {
        ReadinessCheck("bus") { [connection, consumer] in connection.publisher.isReady && consumer.isLive }
    }

    /// Not ready while batches keep failing to apply (a full disk, a locked or broken database).
    public var applyCheck: ReadinessCheck {
        ReadinessCheck("apply") { [consumer] in consumer.isApplying }
    }

    /// The database answers a read (a deleted, unreadable or locked-for-good file makes the service unready).
    public var databaseCheck: ReadinessCheck {
        ReadinessCheck("database") { [database] in
            (try? await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }) != nil
        }
    }

    /// Every check a service on the bus answers `/readyz` with.
    public var checks: [ReadinessCheck] { [readinessCheck, applyCheck, databaseCheck] }
}

public enum VectisVersion {
    public static let current = "0.1.0"
}
