import Foundation
import Logging
import Synchronization
import VectisContracts
import ZeroMQ

/// A message that passed validation, with its body decoded when the subscriber decodes bodies.
///
/// A class, not a struct: a consumer passes each event through several arrays and closures on its way into a
/// transaction, and copying a struct of a topic, a header's strings, a body and a boxed event retains and releases
/// each of them every time (`perf` counted 1.5–3% of each consumer's samples there); a reference is one count.
public final class ReceivedEvent: Sendable {
    public let message: BusMessage
    public let event: (any BusEvent)?

    public init(message: BusMessage, event: (any BusEvent)?) {
        self.message = message
        self.event = event
    }

    public var topic: String { message.topic }
    public var header: MessageHeader { message.header }
}

/// Receives messages for some topics from the bus and hands them to async code in batches.
///
/// One dedicated thread owns the SUB socket: it validates frames (count, size, header, schema version),
/// decodes bodies, counts and logs what it drops (once per kind), and yields batches of valid messages.
/// At most two batches are in flight: when the consumer is slow the thread waits, the socket's queue fills,
/// and libzmq drops at the high-water mark — losses the stream's seq numbers expose.
public final class BusSubscriber: Sendable {
    public let filters: [TopicFilter]
    private let stream: AsyncStream<[ReceivedEvent]>
    private let permits: Permits
    private let stopping: Atomic<Bool>
    private let readiness = Latch<Bool>()
    private let thread: Mutex<ZMQSocketThread?>

    public init(
        context: ZMQContext, configuration: BusConfiguration, filters: [TopicFilter], decodeBodies: Bool = true,
        metrics: BusMetrics, logger: Logger
    ) {
        self.filters = filters
        let (stream, continuation) = AsyncStream.makeStream(of: [ReceivedEvent].self)
        self.stream = stream
        self.permits = Permits(2)
        self.stopping = Atomic(false)
        self.thread = Mutex(nil)
        let loop = SubscriberLoop(
            configuration: configuration, filters: filters, decodeBodies: decodeBodies, metrics: metrics,
            logger: logger, continuation: continuation, permits: permits, readiness: readiness,
            shouldStop: { [weak self] in self?.stopping.load(ordering: .relaxed) ?? true })
        let handle = ZMQSocketThread.start(name: "bus-subscriber") {
            loop.run(context: context)
        }
        thread.withLock { $0 = handle }
    }

    /// True once this subscriber's subscriptions are known to be in place at the bus.
    public func waitUntilReady() async -> Bool {
        await readiness.wait()
    }

    public var isReady: Bool { readiness.current ?? false }

    /// Batches in arrival order. A batch counts as handled when the next one is asked for.
    public var batches: Batches { Batches(stream: stream, permits: permits) }

    /// Stops receiving and ends `batches`.
    public func close() async {
        stopping.store(true, ordering: .relaxed)
        let handle = thread.withLock { $0 }
        await handle?.finished()
    }

    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [ReceivedEvent]
        let stream: AsyncStream<[ReceivedEvent]>
        let permits: Permits

        public func makeAsyncIterator() -> Iterator {
            Iterator(base: stream.makeAsyncIterator(), permits: permits)
        }

        public struct Iterator: AsyncIteratorProtocol {
            var base: AsyncStream<[ReceivedEvent]>.Iterator
            let permits: Permits
            var holding = false

            public mutating func next() async -> [ReceivedEvent]? {
                if holding { permits.release() }
                let batch = await base.next()
                holding = batch != nil
                return batch
            }
        }
    }
}

/// The subscriber thread's state; lives and dies on that thread.
private final class SubscriberLoop: @unchecked Sendable {
    let configuration: BusConfiguration
    let filters: [TopicFilter]
    let decodeBodies: Bool
    let metrics: BusMetrics
    let logger: Logger
    let continuation: AsyncStream<[ReceivedEvent]>.Continuation
    let permits: Permits
    let readiness: Latch<Bool>
    let shouldStop: @Sendable () -> Bool
    let codec: BusFrameCodec
    var batch: [ReceivedEvent] = []
    /// The frames' bytes behind `batch`.
    var batchBytes = 0
    var loggedReasons: Set<DropReason> = []
    var probeTopic = ""

    init(
        configuration: BusConfiguration, filters: [TopicFilter], decodeBodies: Bool, metrics: BusMetrics,
        logger: Logger, continuation: AsyncStream<[ReceivedEvent]>.Continuation, permits: Permits,
        readiness: Latch<Bool>, shouldStop: @escaping @Sendable () -> Bool
    ) {
        self.configuration = configuration
        self.filters = filters
        self.decodeBodies = decodeBodies
        self.metrics = metrics
        self.logger = logger
        self.continuation = continuation
        self.permits = permits
        self.readiness = readiness
        self.shouldStop = shouldStop
        self.codec = BusFrameCodec(maxMessageBytes: configuration.maxMessageBytes)
    }

    func run(context: ZMQContext) {
        defer {
            continuation.finish()
            readiness.set(false)
        }
        do {
            let socket = try ZMQSocket(context: context, type: .sub)
            defer { socket.close() }
            try socket.applyBusDefaults(configuration)
            for prefix in Set(filters.map(\.zmqPrefix)) {
                try socket.subscribe(prefix)
            }
            try socket.connect(configuration.subscribeEndpoint)
            try probe(context: context, socket: socket)
            try receiveLoop(socket)
        } catch let error as ZMQError where error.isTerminated {
            // Context shut down: the service is stopping.
        } catch {
            logger.error("bus subscriber stopped", metadata: ["error": "\(error)"])
        }
    }

    private func probe(context: ZMQContext, socket: ZMQSocket) throws {
        probeTopic = BusProbe.makeTopic()
        try socket.subscribe(probeTopic)
        let sender = try ZMQSocket(context: context, type: .pub)
        defer { sender.close() }
        try sender.applyCurve(configuration.curve)
        try sender.setLinger(milliseconds: 0)
        try sender.connect(configuration.publishEndpoint)
        let ready = try BusProbe.roundTrip(
            sender: sender, receiver: socket, topic: probeTopic, codec: codec, timeout: .seconds(5),
            shouldStop: shouldStop, other: { ingest($0) })
        try socket.unsubscribe(probeTopic)
        readiness.set(ready)
        if !ready {
            logger.warning(
                "bus not reachable yet; will keep trying", metadata: ["endpoint": "\(configuration.subscribeEndpoint)"])
        }
        flush()
    }

    private func receiveLoop(_ socket: ZMQSocket) throws {
        while !shouldStop() {
            if let frames = try socket.receiveMessage(dontWait: true) {
                ingest(frames)
                if batch.count >= configuration.maxBatchSize || batchBytes >= configuration.maxBatchBytes { flush() }
                continue
            }
            flush()
            _ = try socket.waitReadable(timeoutMilliseconds: 100)
        }
    }

    private func ingest(_ frames: [[UInt8]]) {
        switch codec.decodeMessages(frames: frames) {
        case .failure(let reason):
            metrics.received.increment()
            drop(reason, topic: frames.first.flatMap { String(validating: $0, as: UTF8.self) })
        case .success(let messages):
            metrics.received.increment(by: Int64(messages.count))
            // One topic per message (a bundle has one): libzmq matched a byte prefix, and `backup.job.recorded` must
            // not also take `backup.job.recordedx`.
            guard let topic = messages.first?.topic, filters.contains(where: { $0.matches(topic) }),
                !topic.hasPrefix(BusProbe.topicPrefix)
            else { return }
            batchBytes += frames.reduce(0) { $0 + $1.count }
            for message in messages {
                if decodeBodies {
                    switch codec.decodeEvent(message) {
                    case .success(let event):
                        batch.append(ReceivedEvent(message: message, event: event))
                    case .failure(let reason):
                        drop(reason, topic: message.topic)
                    }
                } else {
                    batch.append(ReceivedEvent(message: message, event: nil))
                }
            }
        }
    }

    /// Logged once per reason (a bounded set, whatever arrives); the topic is cut and escaped for the log.
    private func drop(_ reason: DropReason, topic: String?) {
        metrics.dropped(reason)
        if loggedReasons.insert(reason).inserted {
            logger.warning(
                "dropped a bus message (further drops for this reason are only counted)",
                metadata: ["reason": "\(reason.rawValue)", "topic": "\(LogText.cut(topic ?? "?"))"])
        }
    }

    private func flush() {
        guard !batch.isEmpty else {
            batchBytes = 0
            return
        }
        while !permits.acquire(timeout: 0.1) {
            if shouldStop() { return }
        }
        metrics.delivered.increment(by: Int64(batch.count))
        metrics.batches.increment()
        continuation.yield(batch)
        batch.removeAll(keepingCapacity: true)
        batchBytes = 0
    }
}
