import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts
import ZeroMQ

/// A service's place on the bus: one publisher for its stream and, when it consumes anything, one subscriber.
///
/// As a `Service` it keeps both open until graceful shutdown, then drains what is queued and closes them
/// before the process exits.
public final class BusConnection: Service, Sendable {
    public let publisher: BusPublisher
    public let subscriber: BusSubscriber?
    public let metrics: BusMetrics
    private let context: ZMQContext
    private let logger: Logger

    public init(
        configuration: RuntimeConfiguration, subscriptions: [TopicFilter], metrics: ServiceMetrics, logger: Logger
    ) throws {
        context = try ZMQContext()
        self.logger = logger
        self.metrics = BusMetrics(factory: metrics.factory)
        publisher = BusPublisher(
            context: context, configuration: configuration.bus, stream: configuration.stream, metrics: self.metrics,
            logger: logger)
        subscriber =
            subscriptions.isEmpty
            ? nil
            : BusSubscriber(
                context: context, configuration: configuration.bus, filters: subscriptions, metrics: self.metrics,
                logger: logger)
    }

    /// Ready when the round trip through the bus worked for the publisher and the subscriber.
    public var isReady: Bool {
        publisher.isReady && (subscriber?.isReady ?? true)
    }

    public var readinessCheck: ReadinessCheck {
        ReadinessCheck("bus") { [self] in isReady }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await subscriber?.close()
        await publisher.close()
        logger.debug("bus connection closed")
    }
}
