import ArgumentParser
import BusService
import Foundation
import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts
import VectisRuntime
import ZeroMQ

/// `vectis-bench bus`: the same 100-byte payloads over a direct PUB→SUB pair and through `vectis-bus`.
struct BusBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus", abstract: "Messages/s: raw PUB→SUB, raw through vectis-bus, typed events through vectis-bus.")

    @Option(help: "Messages per measurement.")
    var count = 1_000_000

    @Option(help: "Typed events per measurement (JSON encode + decode makes this path slower).")
    var typedCount = 200_000

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        print("\(count) × 100-byte payloads (typed: \(typedCount) BackupRunObserved events), libzmq \(ZMQContext.libraryVersion)")
        _ = try await Self.measure(count: count, typedCount: typedCount, logger: logger) { line in print(line) }
    }

    /// The raw pair's figures, measured one after the other.
    struct Figures {
        var direct: Measurement
        /// Through libzmq's own `zmq_proxy`, which checks nothing: what any forwarder reaches here at this moment.
        var builtInProxy: Measurement
        var curveOff: Measurement
        var curveOn: Measurement
    }

    /// A direct PUB→SUB pair, then the same frames through `vectis-bus`'s forwarding loop in this process with CURVE
    /// off and on; `typedCount` > 0 adds typed events through the CURVE-off bus. Each line goes to `report` as measured.
    static func measure(count: Int, typedCount: Int, logger: Logger, report: (String) -> Void) async throws -> Figures {
        let payload = [UInt8](repeating: 0x61, count: 100)
        let direct = try RawPair.measure(count: count, payload: payload, viaProxy: nil)
        report("raw PUB→SUB direct:        \(direct.summary)")
        let builtIn = try BuiltInProxyReference.measure(count: count, payload: payload)
        report(
            "raw through libzmq's zmq_proxy (no checks, the reference):         \(builtIn.summary)"
                + String(format: "  ratio to direct %.2f", builtIn.rate / direct.rate))

        var plain: Measurement?
        try await withBenchBus(logger: logger) { endpoints in
            let viaBus = try RawPair.measure(count: count, payload: payload, viaProxy: endpoints)
            plain = viaBus
            report(
                "raw through vectis-bus, CURVE off (frame and size checks):        \(viaBus.summary)"
                    + String(format: "  ratio to direct %.2f, to zmq_proxy %.2f", viaBus.rate / direct.rate, viaBus.rate / builtIn.rate))
            guard typedCount > 0 else { return }
            let typed = try await TypedPath.measure(count: typedCount, endpoints: endpoints, logger: logger)
            report(
                "typed through vectis-bus:  \(typed.summary)"
                    + String(format: "  ratio to raw via bus %.2f, to direct %.2f", typed.rate / viaBus.rate, typed.rate / direct.rate))
        }
        // The same frames, encrypted, from an allow-listed `collector` key: every message's identity, topic
        // ownership, header and stream are checked by the forwarder.
        let server = try ZMQCurve.keyPair()
        let collector = try ZMQCurve.keyPair()
        let tap = try ZMQCurve.keyPair()
        func keys(_ pair: (publicKey: String, secretKey: String)) -> CurveClientKeys {
            CurveClientKeys(serverPublicKey: server.publicKey, publicKey: pair.publicKey, secretKey: pair.secretKey)
        }
        var secured: Measurement?
        try await withBenchBus(
            logger: logger, curveSecretKey: server.secretKey,
            allowedClients: [collector.publicKey: "collector", tap.publicKey: "tap"]
        ) { endpoints in
            secured = try RawPair.measure(
                count: count, payload: payload, via: (publish: endpoints.publish, subscribe: endpoints.subscribe),
                curve: (sender: keys(collector), receiver: keys(tap)))
        }
        guard let plain, let secured else { throw ValidationError("the bus was not measured") }
        report(
            "raw through vectis-bus, CURVE on (identity, ownership, stream):   \(secured.summary)"
                + String(format: "  ratio to CURVE off %.2f, to direct %.2f", secured.rate / plain.rate, secured.rate / direct.rate))
        return Figures(direct: direct, builtInProxy: builtIn, curveOff: plain, curveOn: secured)
    }
}

/// The raw pair through libzmq's `zmq_proxy` on ephemeral loopback ports, with the bus's high-water marks: the
/// forwarding rate of a loop that checks nothing, measured beside `vectis-bus`'s.
enum BuiltInProxyReference {
    static func measure(count: Int, payload: [UInt8]) throws -> Measurement {
        let context = try ZMQContext()
        let endpoints = Latch<Result<(publish: String, subscribe: String), ZMQError>>()
        // The sockets live on the proxy's thread, as every socket does; it returns once the context is shut down.
        let proxy = ZMQSocketThread.start(name: "bench-zmq-proxy") {
            do {
                let frontend = try ZMQSocket(context: context, type: .xsub)
                let backend = try ZMQSocket(context: context, type: .xpub)
                defer { for socket in [frontend, backend] { socket.close() } }
                let marks = BusServerConfiguration().highWaterMark
                for socket in [frontend, backend] {
                    try socket.setLinger(milliseconds: 0)
                    try socket.setSendHighWaterMark(marks)
                    try socket.setReceiveHighWaterMark(marks)
                }
                try frontend.bind("tcp://127.0.0.1:*")
                try backend.bind("tcp://127.0.0.1:*")
                endpoints.set(.success((publish: try frontend.lastEndpoint, subscribe: try backend.lastEndpoint)))
                ZMQBuiltInProxy.run(frontend: frontend, backend: backend)
            } catch let error as ZMQError {
                endpoints.set(.failure(error))
            } catch {
                endpoints.set(.failure(ZMQError(code: 0, operation: "\(error)")))
            }
        }
        defer {
            context.shutdown()
            _ = proxy.join(timeout: .seconds(5))
        }
        return try RawPair.measure(count: count, payload: payload, via: blockingWait(endpoints).get())
    }
}

/// Runs `body` with a `vectis-bus` proxy on ephemeral loopback ports in this process, then stops it.
func withBenchBus(
    logger: Logger, curveSecretKey: String? = nil, allowedClients: [String: String] = [:],
    _ body: (BusProxy.BoundEndpoints) async throws -> Void
) async throws {
    let proxy = BusProxy(
        configuration: BusServerConfiguration(
            publishBind: "tcp://127.0.0.1:*", subscribeBind: "tcp://127.0.0.1:*", tapBind: "tcp://127.0.0.1:*", httpPort: 0,
            curveSecretKey: curveSecretKey, allowedClients: allowedClients),
        metricsFactory: ServiceMetrics().factory, logger: logger)
    let group = ServiceGroup(services: [proxy], gracefulShutdownSignals: [], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        try await body(try await proxy.endpoints())
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// What one measurement saw.
struct Measurement {
    var sent: Int
    var received: Int
    var elapsed: Duration

    var rate: Double { Double(received) / seconds(elapsed) }
    var lost: Int { sent - received }

    var summary: String {
        String(format: "%10.0f msg/s", rate) + (lost > 0 ? "  (\(lost) of \(sent) dropped at high-water marks)" : "")
    }
}

/// Pre-encoded three-frame messages, no JSON work: what libzmq and the wrapper cost.
///
/// PUB sockets and the proxy drop at their high-water marks when the receiver falls behind, so the sender ends
/// with "end" markers (repeated until seen) and the receiver reports how many data messages it got.
enum RawPair {
    static func measure(count: Int, payload: [UInt8], viaProxy: BusProxy.BoundEndpoints?) throws -> Measurement {
        try measure(count: count, payload: payload, via: viaProxy.map { (publish: $0.publish, subscribe: $0.subscribe) })
    }

    /// Through a bus at these endpoints (e.g. a `vectis-bus` process), or directly when nil.
    static func measure(
        count: Int, payload: [UInt8], via viaProxy: (publish: String, subscribe: String)?,
        curve: (sender: CurveClientKeys, receiver: CurveClientKeys)? = nil
    ) throws -> Measurement {
        let context = try ZMQContext()
        let endpoint = Latch<String>()
        let warmed = Latch<Bool>()
        let result = ResultBox()
        // Topics and a header the collector's identity owns, so the same frames pass the bus's ownership checks.
        let dataTopic = Array(BackupRunObserved.topic.utf8)
        let endTopic = Array(CollectorSyncCompleted.topic.utf8)
        let header = MessageHeader(schemaVersion: 1, stream: "collector/bench", seq: 1).jsonBytes()
        // The receiving socket lives on its own thread, as every socket loop does.
        ZMQSocketThread.start(name: "bench-receiver") {
            do {
                let receiver = try ZMQSocket(context: context, type: .sub)
                defer { receiver.close() }
                try receiver.setLinger(milliseconds: 0)
                try receiver.setReceiveHighWaterMark(0)
                try receiver.applyCurve(curve?.receiver)
                try receiver.subscribe("backup.")
                try receiver.subscribe("collector.")
                if let viaProxy {
                    try receiver.connect(viaProxy.subscribe)
                    endpoint.set(viaProxy.publish)
                } else {
                    try receiver.bind("tcp://127.0.0.1:*")
                    endpoint.set(try receiver.lastEndpoint)
                }
                var received = 0
                var started: ContinuousClock.Instant?
                var last = ContinuousClock.now
                // Frames received in place, no arrays per message: the receiving side should not spend the cores
                // the path it measures needs (the forwarder's run shares two cores with this thread and the sender).
                let topic = ZMQFrame()
                let rest = ZMQFrame()
                while true {
                    guard try topic.receive(from: receiver, dontWait: true) else {
                        _ = try receiver.waitReadable(timeoutMilliseconds: 100)
                        continue
                    }
                    var more = topic.more
                    while more {
                        guard try rest.receive(from: receiver, dontWait: false) else { continue }
                        more = rest.more
                    }
                    if topic.withBytes({ $0.elementsEqual(dataTopic) }) {
                        if started == nil { started = .now }
                        received += 1
                        last = .now
                    } else if topic.withBytes({ $0.elementsEqual(endTopic) }), started != nil {
                        break
                    } else {
                        warmed.set(true)
                    }
                }
                result.finish(received: received, elapsed: last - (started ?? last))
            } catch {
                result.finish(received: 0, elapsed: .zero)
            }
        }
        let sender = try ZMQSocket(context: context, type: .pub)
        defer { sender.close() }
        try sender.setLinger(milliseconds: 0)
        try sender.setSendHighWaterMark(0)
        try sender.applyCurve(curve?.sender)
        try sender.connect(blockingWait(endpoint))
        // Slow joiner: send warm-up messages until the subscription has reached this sender.
        let warm: [[UInt8]] = [Array(CollectorSyncStarted.topic.utf8), header, []]
        while warmed.current == nil {
            try sender.send(warm)
            Thread.sleep(forTimeInterval: 0.01)
        }
        let frames: [[UInt8]] = [dataTopic, header, payload]
        for _ in 0..<count {
            try sender.send(frames)
        }
        while !result.isFinished {
            try sender.send([endTopic, header, []])
            Thread.sleep(forTimeInterval: 0.01)
        }
        let (received, elapsed) = result.wait()
        return Measurement(sent: count, received: received, elapsed: elapsed)
    }

}

/// The latch's value, waited for on a thread that is not a task's (the bench's socket threads and their drivers).
func blockingWait<Value>(_ latch: Latch<Value>) -> Value {
    while true {
        if let value = latch.current { return value }
        Thread.sleep(forTimeInterval: 0.001)
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Hands a result from the receiving thread back to the benchmark.
final class ResultBox: @unchecked Sendable {
    // NSCondition guards `result`.
    private let condition = NSCondition()
    private var result: (received: Int, elapsed: Duration)?

    func finish(received: Int, elapsed: Duration) {
        condition.lock()
        result = (received, elapsed)
        condition.signal()
        condition.unlock()
    }

    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return result != nil
    }

    func wait() -> (received: Int, elapsed: Duration) {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }
}

/// `BusPublisher` → vectis-bus → `BusSubscriber`: header + body JSON encoded, validated and decoded.
enum TypedPath {
    static func measure(count: Int, endpoints: BusProxy.BoundEndpoints, logger: Logger) async throws -> Measurement {
        let context = try ZMQContext()
        var configuration = BusConfiguration(publishEndpoint: endpoints.publish, subscribeEndpoint: endpoints.subscribe)
        configuration.sendHighWaterMark = 0
        configuration.receiveHighWaterMark = 0
        let metrics = BusMetrics(factory: ServiceMetrics().factory)
        let subscriber = BusSubscriber(
            context: context, configuration: configuration,
            filters: [.exact(BackupRunObserved.topic), .exact(CollectorSyncCompleted.topic)],
            metrics: metrics, logger: logger)
        let publisher = BusPublisher(
            context: context, configuration: configuration, stream: "bench/typed", metrics: metrics, logger: logger)
        _ = await subscriber.waitUntilReady()
        _ = await publisher.waitUntilReady()
        let customer = CustomerRef(key: "org:1", name: "Acme")
        let event = BackupRunObserved(
            deviceSerial: "A1B2C3", agentVolume: "v1", agentName: "srv", customer: customer,
            runAt: Date(), rawStatus: "success")
        let end = CollectorSyncCompleted(syncId: "end", devices: 0, agents: 0, runsObserved: 0, requests: 0, durationSeconds: 0)
        let sender = Task.detached {
            for _ in 0..<count { publisher.publish(event) }
            // Repeat the end marker until the receiver has seen one (it may be dropped like anything else).
            while !Task.isCancelled {
                publisher.publish(end)
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        var received = 0
        var started: ContinuousClock.Instant?
        var last = ContinuousClock.now
        receiving: for await batch in subscriber.batches {
            for item in batch {
                if item.event is CollectorSyncCompleted {
                    if started != nil { break receiving }
                    continue
                }
                if started == nil { started = .now }
                received += 1
                last = .now
            }
        }
        sender.cancel()
        await publisher.close()
        await subscriber.close()
        return Measurement(sent: count, received: received, elapsed: last - (started ?? last))
    }
}
