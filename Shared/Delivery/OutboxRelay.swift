import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VectisBus
import VectisContracts

/// Sends committed outbox rows in order, answers replay requests for this service's stream, and prunes.
public final class OutboxRelay: Service, Sendable {
    private let outbox: Outbox
    private let publisher: BusPublisher
    private let configuration: DeliveryConfiguration
    private let metrics: DeliveryMetrics
    private let logger: Logger
    private let replays = Mutex<ReplayQueue>(ReplayQueue())

    struct ReplayQueue {
        var pending: [BusReplayRequested] = []
        var tokens: Double = 0
        var refilledAt = ContinuousClock.now
    }

    public init(
        outbox: Outbox, publisher: BusPublisher, configuration: DeliveryConfiguration, metrics: DeliveryMetrics,
        logger: Logger
    ) {
        self.outbox = outbox
        self.publisher = publisher
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        replays.withLock { $0.tokens = configuration.replayBurst }
    }

    /// Queues a replay of this stream. Throttled by a token bucket; a request already covered by a queued one
    /// (same topic and requester, no earlier start) is merged into it.
    public func requestReplay(_ request: BusReplayRequested) {
        guard request.stream == outbox.stream else { return }
        let accepted = replays.withLock { queue -> Bool in
            let now = ContinuousClock.now
            let elapsed = now - queue.refilledAt
            queue.refilledAt = now
            queue.tokens = min(
                configuration.replayBurst,
                queue.tokens + configuration.replayRequestsPerSecond * Double(elapsed.components.seconds)
                    + configuration.replayRequestsPerSecond * Double(elapsed.components.attoseconds) / 1e18)
            if let index = queue.pending.firstIndex(where: { $0.topic == request.topic && $0.requestedBy == request.requestedBy }) {
                queue.pending[index].fromSeq = min(queue.pending[index].fromSeq, request.fromSeq)
                return true
            }
            guard queue.tokens >= 1 else { return false }
            queue.tokens -= 1
            queue.pending.append(request)
            return true
        }
        if accepted {
            outbox.wake.signal()
        } else {
            metrics.replayRequestsThrottled.increment()
        }
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [self] in try await relay() }
        } catch is CancellationError {}
        // Hand what was committed meanwhile to the socket before the connection drains and closes.
        let sentThrough = try await outbox.sentThrough()
        let rows = try await outbox.rows(after: sentThrough, limit: 100_000)
        if !rows.isEmpty {
            publisher.publish(frames: rows.map(\.frames))
            try await outbox.setSentThrough(rows.last!.id)
        }
    }

    static let batchSize = 2_000

    /// Sends, serves replays and prunes until cancelled (graceful shutdown).
    private func relay() async throws {
        var sentThrough = try await outbox.sentThrough()
        var lastPrune = ContinuousClock.now
        var lastGauge = ContinuousClock.now - .seconds(10)
        var alarmRaised = false
        while !Task.isCancelled {
            try await serveReplays()
            let rows = try await outbox.rows(after: sentThrough, limit: Self.batchSize)
            if !rows.isEmpty {
                publisher.publish(frames: rows.map(\.frames))
                sentThrough = rows.last!.id
                // Remembered so a restart resends only what may not have gone out (consumers skip repeats).
                try await outbox.setSentThrough(sentThrough)
            }
            // Once a second, and after every full batch (a backlog is exactly when the gauges and alarm matter).
            if rows.count == Self.batchSize || ContinuousClock.now - lastGauge >= .seconds(1) {
                lastGauge = .now
                let unsent = try await outbox.unsent()
                metrics.outboxDepth.record(unsent.count)
                metrics.outboxOldestUnsentSeconds.record(unsent.oldestAgeSeconds)
                let behind = unsent.count >= configuration.outboxAlarmRows
                    || unsent.oldestAgeSeconds >= Double(configuration.outboxAlarmAge.components.seconds)
                if behind != alarmRaised {
                    // Once per episode, not once a second: the gauges carry the detail in between.
                    alarmRaised = behind
                    let metadata: Logger.Metadata = ["unsent": "\(unsent.count)", "oldestSeconds": "\(Int(unsent.oldestAgeSeconds))"]
                    if behind {
                        metrics.outboxAlarms.increment()
                        logger.warning("outbox backlog: committed events are waiting to be sent; the relay is not keeping up", metadata: metadata)
                    } else {
                        logger.notice("outbox backlog cleared", metadata: metadata)
                    }
                }
            }
            if ContinuousClock.now - lastPrune >= configuration.pruneInterval {
                lastPrune = .now
                let pruned = try await outbox.prune(
                    maxAge: configuration.outboxMaxAge, maxRows: configuration.outboxMaxRows, sentThrough: sentThrough)
                if pruned > 0 { metrics.outboxPruned.increment(by: Int64(pruned)) }
            }
            if rows.count < 2_000 {
                await outbox.wake.wait(timeout: .milliseconds(250))
            }
        }
    }

    private func serveReplays() async throws {
        let requests = replays.withLock { queue in
            defer { queue.pending = [] }
            return queue.pending
        }
        for request in requests {
            let (rows, firstAvailable, latest) = try await outbox.replayRows(
                topic: request.topic, fromSeq: request.fromSeq, limit: configuration.replayBatchLimit)
            let oldestHeld = firstAvailable ?? (latest + 1)
            if request.fromSeq < oldestHeld && request.fromSeq <= latest {
                // Part of the range was pruned: say so, then send what is left.
                publisher.publishControl(BusReplayUnavailable(
                    stream: outbox.stream, topic: request.topic, fromSeq: request.fromSeq, firstAvailableSeq: oldestHeld,
                    requestedBy: request.requestedBy, resynchronisation: configuration.resynchronisation))
                logger.warning(
                    "replay range no longer held",
                    metadata: [
                        "topic": "\(request.topic)", "from": "\(request.fromSeq)", "firstAvailable": "\(oldestHeld)",
                        "requestedBy": "\(request.requestedBy)",
                    ])
            }
            guard !rows.isEmpty else { continue }
            publisher.publish(frames: try rows.map { row in
                [Array(row.topic.utf8), try outbox.markedAsReplay(row.header), row.body]
            })
            metrics.replaysServed.increment()
            metrics.replayedMessages.increment(by: Int64(rows.count))
            logger.debug(
                "replayed", metadata: ["topic": "\(request.topic)", "from": "\(request.fromSeq)", "count": "\(rows.count)"])
        }
    }
}
