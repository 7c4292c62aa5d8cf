import Foundation
import Logging
import Synchronization
import VectisContracts
import ZeroMQ

/// Publishes typed events onto the bus from any task or thread: `publisher.publish(BackupJobRecorded(...))`.
///
/// Each call is numbered in the publisher's stream and queued; one dedicated thread owns the PUB socket,
/// encodes the queue in order and sends it. Publishing never blocks on the network.
public final class BusPublisher: Sendable {
    public let stream: String
    /// The bus's limit for one message, which a bundle stays under.
    public let maxMessageBytes: Int
    /// Numbering done here is in memory and starts again with the process, so each process is an epoch.
    public let memoryEpoch = StreamEpoch.make()
    private let queue = PendingQueue<Outgoing>()
    /// Last seq given out, per topic (see `MessageHeader.seq`).
    private let lastSeq = Mutex<[String: UInt64]>([:])
    private let readiness = Latch<Bool>()
    private let thread: ZMQSocketThread

    struct Outgoing: Sendable {
        let header: MessageHeader
        let topic: String
        let body: Body

        enum Body: Sendable {
            case event(any BusEvent)
            case encoded([UInt8])
            /// Already framed (e.g. read back from an outbox, maybe a bundle of `events`): sent as is.
            case frames([[UInt8]], events: Int)
        }
    }

    /// Connects to the bus and starts the send thread.
    public init(
        context: ZMQContext, configuration: BusConfiguration, stream: String, metrics: BusMetrics, logger: Logger
    ) {
        self.stream = stream
        maxMessageBytes = configuration.maxMessageBytes
        let queue = self.queue
        let readiness = self.readiness
        thread = ZMQSocketThread.start(name: "bus-publisher \(stream)") {
            BusPublisher.run(
                context: context, configuration: configuration, queue: queue, readiness: readiness,
                metrics: metrics, logger: logger)
        }
    }

    /// Queues `event`, numbered in memory, and returns the header it will carry. Services that must not lose
    /// events publish through their outbox instead (`Outbox.append`), which numbers them durably.
    @discardableResult
    public func publish<E: BusEvent>(
        _ event: E, tenant: String = "default", customerKey: String? = nil, correlationId: String? = nil
    ) -> MessageHeader? {
        enqueue(
            topic: E.topic, schemaVersion: E.schemaVersion, body: .event(event), tenant: tenant,
            customerKey: customerKey, correlationId: correlationId)
    }

    /// Queues an unnumbered control message (seq 0): heartbeats, replay requests. A heartbeat carries the epoch
    /// of the numbering it reports (the outbox's, or this process's for in-memory numbering).
    public func publishControl<E: BusEvent>(_ event: E, tenant: String = "default", epoch: String? = nil) {
        let header = MessageHeader(
            schemaVersion: E.schemaVersion, stream: stream, seq: 0, tenant: tenant, epoch: epoch)
        queue.append(Outgoing(header: header, topic: E.topic, body: .event(event)))
    }

    /// Queues messages framed elsewhere (an outbox's rows, single or bundled), in order.
    public func publish(messages: [BusBundle.Message]) {
        let header = MessageHeader(schemaVersion: 1, stream: stream, seq: 0)
        for message in messages {
            queue.append(Outgoing(header: header, topic: "", body: .frames(message.frames, events: message.events)))
        }
    }

    /// Queues messages framed elsewhere, each one event (tools and tests that send what no Swift type describes).
    public func publish(frames messages: [[[UInt8]]]) {
        publish(messages: messages.map { BusBundle.Message(frames: $0) })
    }

    /// Queues an already-encoded body (tools and tests that send what no Swift type describes).
    @discardableResult
    public func publish(
        topic: String, schemaVersion: Int = 1, body: [UInt8], tenant: String = "default", customerKey: String? = nil
    ) -> MessageHeader? {
        enqueue(
            topic: topic, schemaVersion: schemaVersion, body: .encoded(body), tenant: tenant,
            customerKey: customerKey, correlationId: nil)
    }

    private func enqueue(
        topic: String, schemaVersion: Int, body: Outgoing.Body, tenant: String, customerKey: String?,
        correlationId: String?
    ) -> MessageHeader? {
        // Number and queue under one lock so seq order is send order.
        let outgoing = queue.append { () -> Outgoing in
            let seq = lastSeq.withLock { last in
                let next = (last[topic] ?? 0) + 1
                last[topic] = next
                return next
            }
            let header = MessageHeader(
                schemaVersion: schemaVersion, stream: stream, seq: seq, tenant: tenant, customerKey: customerKey,
                correlationId: correlationId, epoch: memoryEpoch)
            return Outgoing(header: header, topic: topic, body: body)
        }
        return outgoing?.header
    }

    /// The latest seq given out per topic by `publish(_:)`.
    public var latestSeq: [String: UInt64] { lastSeq.withLock { $0 } }

    /// Messages queued but not yet handed to libzmq.
    public var queuedCount: Int { queue.count }

    /// True once a probe went through the bus and back (false if that did not happen within the timeout).
    public func waitUntilReady() async -> Bool {
        await readiness.wait()
    }

    public var isReady: Bool { readiness.current ?? false }

    /// Sends what is queued, waits (up to a second) until the bus has it, then closes the socket.
    public func close() async {
        queue.close()
        await thread.finished()
    }

    private static func run(
        context: ZMQContext, configuration: BusConfiguration, queue: PendingQueue<Outgoing>, readiness: Latch<Bool>,
        metrics: BusMetrics, logger: Logger
    ) {
        let codec = BusFrameCodec(maxMessageBytes: configuration.maxMessageBytes)
        do {
            let socket = try ZMQSocket(context: context, type: .pub)
            defer { socket.close() }
            try socket.applyBusDefaults(configuration)
            try socket.connect(configuration.publishEndpoint)

            let ready = try probe(
                context: context, configuration: configuration, socket: socket, codec: codec,
                timeout: .seconds(5), shouldStop: { queue.isClosed })
            readiness.set(ready)
            if !ready {
                logger.warning(
                    "bus not reachable yet; publishing anyway",
                    metadata: ["endpoint": "\(configuration.publishEndpoint)"])
            }

            while true {
                let (items, closed) = queue.takeAll(timeout: 0.1)
                for item in items {
                    let frames: [[UInt8]]
                    var events = 1
                    switch item.body {
                    case .event(let event):
                        frames = try encode(event, header: item.header, codec: codec)
                    case .encoded(let body):
                        frames = try codec.encode(topic: item.topic, header: item.header, body: body)
                    case .frames(let ready, let count):
                        frames = ready
                        events = count
                    }
                    try socket.send(frames)
                    metrics.published.increment(by: Int64(events))
                }
                if closed && items.isEmpty { break }
            }
            // PUB has no "sent" signal, and the socket's short linger can drop what is still in libzmq's buffers
            // when a busy machine is slow to schedule its I/O thread. A probe sent after the last message comes
            // back only once the bus has forwarded everything before it on this connection.
            if readiness.current == true {
                _ = try probe(
                    context: context, configuration: configuration, socket: socket, codec: codec,
                    timeout: .seconds(1), shouldStop: { false })
            }
        } catch let error as ZMQError where error.isTerminated {
            readiness.set(false)
        } catch {
            readiness.set(false)
            logger.error("bus publisher stopped", metadata: ["error": "\(error)"])
        }
    }

    private static func encode(_ event: any BusEvent, header: MessageHeader, codec: BusFrameCodec) throws -> [[UInt8]] {
        try codec.encode(event, header: header)
    }

    private static func probe(
        context: ZMQContext, configuration: BusConfiguration, socket: ZMQSocket, codec: BusFrameCodec,
        timeout: Duration, shouldStop: () -> Bool
    ) throws -> Bool {
        let echo = try ZMQSocket(context: context, type: .sub)
        defer { echo.close() }
        try echo.applyCurve(configuration.curve)
        try echo.setLinger(milliseconds: 0)
        let topic = BusProbe.makeTopic()
        try echo.subscribe(topic)
        try echo.connect(configuration.subscribeEndpoint)
        return try BusProbe.roundTrip(
            sender: socket, receiver: echo, topic: topic, codec: codec, timeout: timeout,
            shouldStop: shouldStop, other: { _ in })
    }
}
