import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VectisBus
import ZeroMQ

/// The bus itself: XSUB (publishers) and XPUB (subscribers) joined by the bus's own forwarding loop
/// (`BusForwarder`), with a PUB tap, as a `Service`.
///
/// The forwarding thread owns the three sockets and runs with an 8 MiB stack. A second thread copies the
/// forwarder's counters into metrics. With CURVE the ZAP handler admits only allow-listed keys, and the
/// forwarder holds each identity to the topics it owns.
public final class BusProxy: Service, Sendable {
    public let configuration: BusServerConfiguration
    private let logger: Logger
    private let bound = Latch<Result<BoundEndpoints, ZMQErrorBox>>()
    private let running = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    private let failure = Mutex<String?>(nil)
    private let zap: ZAPHandler?
    private let bans = BusBans()
    let statistics: ForwarderStatistics

    /// The endpoints actually bound (a `*` port resolved), for tests that bind port 0.
    public struct BoundEndpoints: Sendable {
        public var publish: String
        public var subscribe: String
        public var tap: String
    }

    struct ZMQErrorBox: Error, Sendable, CustomStringConvertible { let description: String }

    public init(configuration: BusServerConfiguration, metricsFactory: any MetricsFactory, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        statistics = ForwarderStatistics(factory: metricsFactory)
        zap =
            configuration.curveSecretKey == nil
            ? nil
            : ZAPHandler(allowed: configuration.allowedClients, bans: bans, metricsFactory: metricsFactory, logger: logger)
    }

    /// True while the forwarding thread is forwarding.
    public var isRunning: Bool { running.load(ordering: .relaxed) }

    /// Drops so far, per `identity|reason` (tests read them; `/metrics` has them as counters).
    public var droppedCounts: [String: Int] { statistics.droppedCounts }

    /// Makes the ZAP handler's thread fail (tests only): the bus must stop rather than keep forwarding.
    func failZAPHandlerForTesting() {
        zap?.failForTesting()
    }

    /// Waits until the sockets are bound; throws if binding failed (port in use, bad endpoint).
    public func endpoints() async throws -> BoundEndpoints {
        try await bound.wait().get()
    }

    public func run() async throws {
        let context = try ZMQContext()
        if configuration.isInsecure {
            logger.warning(
                "the bus runs WITHOUT authentication (VECTIS_BUS_INSECURE): any local process can publish and read; development only")
        }
        let forwarderThread = ZMQSocketThread.start(name: "bus-forwarder", stackSize: 8 << 20) { [self] in
            runForwarder(context: context)
        }
        let endpoints: BoundEndpoints
        do {
            endpoints = try await bound.wait().get()
        } catch {
            await forwarderThread.finished()
            throw error
        }
        logger.info(
            "bus running",
            metadata: [
                "publish": "\(endpoints.publish)", "subscribe": "\(endpoints.subscribe)", "tap": "\(endpoints.tap)",
                "curve": "\(!configuration.isInsecure)"
            ])
        let statisticsThread = ZMQSocketThread.start(name: "bus-statistics") { [self] in
            while !stopRequested.load(ordering: .relaxed) && !forwarderThread.isFinished {
                statistics.flush()
                Thread.sleep(forTimeInterval: Double(configuration.statisticsIntervalMilliseconds) / 1_000)
            }
            statistics.flush()
        }
        // Runs until SIGTERM/SIGINT (graceful shutdown), cancellation, or the forwarder stopping on its own.
        try? await cancelWhenGracefulShutdown {
            // A sleep, not `finished()`: only a cancellable wait lets graceful shutdown end it.
            while !forwarderThread.isFinished { try await Task.sleep(for: .milliseconds(100)) }
        }
        logger.info("bus stopping")
        stopRequested.store(true, ordering: .relaxed)
        if !forwarderThread.join(timeout: .milliseconds(500)) {
            context.shutdown()
        }
        await forwarderThread.finished()
        await statisticsThread.finished()
        if let failure = failure.withLock({ $0 }) {
            throw ZMQErrorBox(description: failure)
        }
        logger.info("bus stopped")
    }

    private func runForwarder(context: ZMQContext) {
        do {
            let frontend = try ZMQSocket(context: context, type: .xsub)
            let backend = try ZMQSocket(context: context, type: .xpub)
            // An XPUB rather than a PUB: the forwarder sees taps arrive and leave, and copies nothing while none taps.
            let capture = try ZMQSocket(context: context, type: .xpub)
            defer {
                for socket in [frontend, backend, capture] { socket.close() }
            }
            for socket in [frontend, backend, capture] {
                try socket.setLinger(milliseconds: 0)
                try socket.setSendHighWaterMark(configuration.highWaterMark)
                try socket.setReceiveHighWaterMark(configuration.highWaterMark)
            }
            if let secret = configuration.curveSecretKey, let zap {
                // CURVE on the three TCP ports: encrypted, and only allow-listed keys get in.
                guard zap.start(context: context) else { throw ZMQError(code: 0, operation: "start the ZAP handler") }
                var enforced = true
                for socket in [frontend, backend, capture] {
                    try socket.setZapDomain("vectis")
                    enforced = socket.setZapEnforceDomain(true) && enforced
                    try socket.setCurveServer(secretKey: secret)
                }
                if !enforced {
                    logger.notice("this libzmq has no ZMQ_ZAP_ENFORCE_DOMAIN; the bus stops if its ZAP handler does")
                }
            }
            defer { zap?.stop() }
            try frontend.setMaxMessageSize(bytes: configuration.maxFrameBytes)
            // Subscribers only ever send subscriptions: anything longer than a real topic is cut off by libzmq.
            try backend.setMaxMessageSize(bytes: configuration.maxSubscriptionBytes)
            try capture.setMaxMessageSize(bytes: configuration.maxSubscriptionBytes)
            try frontend.bind(configuration.publishBind)
            try backend.bind(configuration.subscribeBind)
            try capture.bind(configuration.tapBind)
            bound.set(
                .success(
                    BoundEndpoints(
                        publish: try frontend.lastEndpoint, subscribe: try backend.lastEndpoint, tap: try capture.lastEndpoint)))
            running.store(true, ordering: .relaxed)
            defer { running.store(false, ordering: .relaxed) }
            let forwarder = BusForwarder(
                frontend: frontend, backend: backend, capture: capture, configuration: configuration,
                enforceOwnership: zap != nil, statistics: statistics, bans: bans, logger: logger,
                shouldStop: { [self] in stopRequested.load(ordering: .relaxed) },
                zapAlive: { [zap] in zap?.isAlive ?? true })
            try forwarder.run()
        } catch let error as ZMQError where error.isTerminated {
            // Context shut down during stop.
        } catch {
            bound.set(.failure(ZMQErrorBox(description: "\(error)")))
            failure.withLock { $0 = "\(error)" }
            logger.critical("bus forwarder stopped", metadata: ["error": "\(error)"])
        }
    }
}
