import GRDB
import Logging
import VectisBus
import VectisContracts
import VectisDelivery

/// What a service applies from the bus: one handler per event type, from which its subscriptions follow. A topic
/// cannot be subscribed without a handler, nor handled without being subscribed; a message that reaches the
/// service with no handler (or a body of another type) fails its apply, so it is dead-lettered and counted instead
/// of moving the cursor past it in silence.
public struct BusHandlers: Sendable {
    public typealias Apply<E> = @Sendable (E, MessageHeader, Database, Outbox) throws -> Void

    private var table: [String: @Sendable (ReceivedEvent, Database, Outbox) throws -> Void] = [:]

    public init() {}

    /// Applies every `E` with `apply` (in the consumer's transaction, with the outbox for what it causes).
    public mutating func on<E: BusEvent>(_ type: E.Type, _ apply: @escaping Apply<E>) {
        precondition(table[E.topic] == nil, "two handlers for \(E.topic)")
        table[E.topic] = { received, db, outbox in
            guard let event = received.event as? E else { throw NotHandled(topic: received.topic, reason: "its body is not a \(E.self)") }
            try apply(event, received.header, db, outbox)
        }
    }

    /// The base topics handled, sorted.
    public var topics: [String] { table.keys.sorted() }

    public var subscriptions: [TopicFilter] { topics.map { .exact($0) } }

    func apply(_ received: ReceivedEvent, _ db: Database, _ outbox: Outbox) throws {
        guard let handler = table[Shard.baseTopic(received.topic)] else {
            throw NotHandled(topic: received.topic, reason: "this service has no handler for it")
        }
        try handler(received, db, outbox)
    }

    public struct NotHandled: Error, CustomStringConvertible {
        public var topic: String
        public var reason: String
        public var description: String { "\(LogText.cut(topic)) not applied: \(reason)" }
    }
}

extension ReliableBus {
    /// A reliable bus whose subscriptions are exactly the topics `handlers` handles.
    public convenience init(
        configuration: RuntimeConfiguration, database: DatabasePool, handlers: BusHandlers,
        metrics: ServiceMetrics, logger: Logger, version: String = VectisVersion.current
    ) throws {
        try self.init(
            configuration: configuration, database: database, subscriptions: handlers.subscriptions, metrics: metrics,
            logger: logger, version: version, handler: { received, db, outbox in try handlers.apply(received, db, outbox) })
    }
}
