import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VectisBus
import ZeroMQ

/// The bus itself: an XSUB/XPUB forwarder with a PUB tap, as a `Service`.
///
/// The proxy thread owns the four proxy sockets. A second thread owns a REQ socket on the proxy's in-process
/// control endpoint: it reads STATISTICS into metrics and, on shutdown, sends TERMINATE so the proxy returns
/// cleanly. The control endpoint is `inproc://` on purpose: on TCP anyone who reached it could stop the bus.
public final class BusProxy: Service, Sendable {
    public let configuration: BusServerConfiguration
    private let logger: Logger
    private let statistics: ProxyStatisticsMetrics
    private let controlEndpoint = "inproc://vectis-bus-control-\(UUID().uuidString)"
    private let bound = Latch<Result<BoundEndpoints, ZMQErrorBox>>()
    private let running = Atomic<Bool>(false)
    private let zap: ZAPHandler?

    /// The endpoints actually bound (a `*` port resolved), for tests that bind port 0.
    public struct BoundEndpoints: Sendable {
        public var publish: String
        public var subscribe: String
        public var tap: String
    }

    struct ZMQErrorBox: Error, Sendable { let description: String }

    public init(configuration: BusServerConfiguration, metricsFactory: any MetricsFactory, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.statistics = ProxyStatisticsMetrics(factory: metricsFactory)
        zap = configuration.curveSecretKey == nil
            ? nil : ZAPHandler(allowed: configuration.allowedClientKeys, metricsFactory: metricsFactory, logger: logger)
    }

    /// True while the proxy thread is forwarding.
    public var isRunning: Bool { running.load(ordering: .relaxed) }

    /// Waits until the sockets are bound; throws if binding failed (port in use, bad endpoint).
    public func endpoints() async throws -> BoundEndpoints {
        try await bound.wait().get()
    }

    public func run() async throws {
        let context = try ZMQContext()
        let proxyThread = ZMQSocketThread.start(name: "bus-proxy") { [self] in
            runProxy(context: context)
        }
        let endpoints: BoundEndpoints
        do {
            endpoints = try await bound.wait().get()
        } catch {
            await proxyThread.finished()
            throw error
        }
        logger.info(
            "bus running",
            metadata: [
                "publish": "\(endpoints.publish)", "subscribe": "\(endpoints.subscribe)", "tap": "\(endpoints.tap)",
            ])
        let stopRequested = Atomic<Bool>(false)
        let statisticsThread = ZMQSocketThread.start(name: "bus-statistics") { [self] in
            readStatistics(context: context, stopRequested: { stopRequested.load(ordering: .relaxed) })
        }

        // Runs until SIGTERM/SIGINT (graceful shutdown) or cancellation.
        try? await gracefulShutdown()
        logger.info("bus stopping")
        stopRequested.store(true, ordering: .relaxed)
        await statisticsThread.finished()
        // TERMINATE normally ends the proxy at once; if it did not arrive, shutting the context down does.
        if !proxyThread.join(timeout: .milliseconds(500)) {
            context.shutdown()
        }
        await proxyThread.finished()
        logger.info("bus stopped")
    }

    private func runProxy(context: ZMQContext) {
        do {
            let frontend = try ZMQSocket(context: context, type: .xsub)
            let backend = try ZMQSocket(context: context, type: .xpub)
            let capture = try ZMQSocket(context: context, type: .pub)
            let control = try ZMQSocket(context: context, type: .rep)
            defer {
                for socket in [frontend, backend, capture, control] { socket.close() }
            }
            for socket in [frontend, backend, capture, control] {
                try socket.setLinger(milliseconds: 0)
                try socket.setSendHighWaterMark(configuration.highWaterMark)
                try socket.setReceiveHighWaterMark(configuration.highWaterMark)
            }
            if let secret = configuration.curveSecretKey, let zap {
                // CURVE on the three TCP ports: encrypted, and only allow-listed service keys get in.
                guard zap.start(context: context) else { throw ZMQError(code: 0, operation: "start the ZAP handler") }
                for socket in [frontend, backend, capture] {
                    try socket.setZapDomain("vectis")
                    try socket.setCurveServer(secretKey: secret)
                }
            }
            defer { zap?.stop() }
            try frontend.setMaxMessageSize(bytes: configuration.maxFrameBytes)
            // Pass every subscription upstream, so each new subscriber's subscriptions reach the publishers.
            try backend.setXPubVerbose(true)
            try frontend.bind(configuration.publishBind)
            try backend.bind(configuration.subscribeBind)
            try capture.bind(configuration.tapBind)
            try control.bind(controlEndpoint)
            bound.set(.success(BoundEndpoints(
                publish: try frontend.lastEndpoint, subscribe: try backend.lastEndpoint, tap: try capture.lastEndpoint)))
            running.store(true, ordering: .relaxed)
            defer { running.store(false, ordering: .relaxed) }
            try ZMQProxy.runSteerable(frontend: frontend, backend: backend, capture: capture, control: control)
        } catch let error as ZMQError where error.isTerminated {
            // Context shut down during stop.
        } catch {
            bound.set(.failure(ZMQErrorBox(description: "\(error)")))
            logger.error("bus proxy failed", metadata: ["error": "\(error)"])
        }
    }

    private func readStatistics(context: ZMQContext, stopRequested: () -> Bool) {
        var previous = ZMQProxy.Statistics()
        var nextRead = ContinuousClock.now
        do {
            var control = try makeControlSocket(context: context)
            while !stopRequested() {
                if ContinuousClock.now >= nextRead {
                    nextRead = ContinuousClock.now + .milliseconds(configuration.statisticsIntervalMilliseconds)
                    try control.send(frame: Array("STATISTICS".utf8))
                    if let reply = try control.receiveMessage(), let current = ZMQProxy.Statistics(frames: reply) {
                        statistics.record(current, previous: previous)
                        previous = current
                    } else {
                        // No reply within the timeout: a REQ socket is stuck until it gets one, so start over.
                        control.close()
                        control = try makeControlSocket(context: context)
                    }
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            try control.send(frame: Array("TERMINATE".utf8))
            control.close()
        } catch let error as ZMQError where error.isTerminated {
        } catch {
            logger.error("bus statistics reader failed", metadata: ["error": "\(error)"])
        }
    }

    private func makeControlSocket(context: ZMQContext) throws -> ZMQSocket {
        let socket = try ZMQSocket(context: context, type: .req)
        try socket.setLinger(milliseconds: 0)
        try socket.setReceiveTimeout(milliseconds: 1_000)
        try socket.connect(controlEndpoint)
        return socket
    }
}
