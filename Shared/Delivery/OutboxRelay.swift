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
    private let state: Mutex<RelayState>
    /// Given what this service has just published (not replays), for its live watchers.
    private let broadcast: EventBroadcast?

    struct RelayState {
        var pending: [BusReplayRequested] = []
        var gate: ReplayGate
        /// A heartbeat waiting for the relay to fill in what it has sent and publish it after those rows.
        var heartbeat: ServiceHeartbeat?
    }

    public init(
        outbox: Outbox, publisher: BusPublisher, configuration: DeliveryConfiguration, metrics: DeliveryMetrics,
        logger: Logger, broadcast: EventBroadcast? = nil
    ) {
        self.broadcast = broadcast
        self.outbox = outbox
        self.publisher = publisher
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        state = Mutex(
            RelayState(
                gate: ReplayGate(
                    requestsPerSecond: configuration.replayRequestsPerSecond, burst: configuration.replayBurst,
                    rowsPerSecond: configuration.replayRowsPerSecond, cooldown: configuration.replayRetryAfter / 2)))
    }

    /// Another service's heartbeat came through the bus: its stream may ask for replays for a while.
    public func noteHeartbeat(from stream: String, interval: Duration) {
        state.withLock { $0.gate.heartbeat(from: stream, interval: interval) }
    }

    /// Queues a replay of this stream (see `ReplayGate` for who is served and how much). A request already
    /// covered by a queued one (same topic and requester) is merged into it.
    public func requestReplay(_ request: BusReplayRequested) {
        guard request.stream == outbox.stream else { return }
        let refusal = state.withLock { state -> ReplayGate.Refusal? in
            if let index = state.pending.firstIndex(where: { $0.topic == request.topic && $0.requestedBy == request.requestedBy }) {
                state.pending[index].fromSeq = min(state.pending[index].fromSeq, request.fromSeq)
                state.pending[index].toSeq = nil
                return nil
            }
            if let refusal = state.gate.admit(request) { return refusal }
            // Bounded: one entry per (requester, topic) at most, and requesters are bounded by the gate.
            state.pending.append(request)
            return nil
        }
        if let refusal {
            metrics.refused(refusal)
            if refusal == .requesterThrottled { metrics.replayRequestsThrottled.increment() }
        } else {
            outbox.wake.signal()
        }
    }

    /// Publishes `heartbeat` once the rows handed to the socket before it are known: its `latestSeq` is what
    /// this relay has sent, so a consumer never sees a heartbeat announce less than a message that preceded it.
    public func post(_ heartbeat: ServiceHeartbeat) {
        state.withLock { $0.heartbeat = heartbeat }
        outbox.wake.signal()
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [self] in try await relay() }
        } catch is CancellationError {}
        // Hand what was committed meanwhile to the socket before the connection drains and closes.
        let sentThrough = try await outbox.sentThrough()
        let rows = try await outbox.rows(after: sentThrough, limit: 100_000)
        if !rows.isEmpty {
            publisher.publish(messages: bundled(rows.map(\.item)))
            try await outbox.setSentThrough(rows.last!.id)
        }
    }

    static let batchSize = 2_000

    /// Rows as bus messages: consecutive rows of a topic in bundles (`BusBundle`), sized for the bus's message limit.
    private func bundled(_ items: [BusBundle.Item]) -> [BusBundle.Message] {
        BusBundle.messages(
            items, maxEvents: configuration.bundleEvents, maxBytes: min(BusBundle.maxBytes, publisher.maxMessageBytes))
    }

    /// Sends, serves replays and prunes until cancelled (graceful shutdown).
    private func relay() async throws {
        var sentThrough = try await outbox.sentThrough()
        var sentLatest = try await outbox.latestSent(sentThrough: sentThrough)
        var lastPrune = ContinuousClock.now
        var lastGauge = ContinuousClock.now - .seconds(10)
        var alarmRaised = false
        while !Task.isCancelled {
            try await serveReplays()
            let rows = try await outbox.rows(after: sentThrough, limit: Self.batchSize)
            if let last = rows.last {
                publisher.publish(messages: bundled(rows.map(\.item)))
                broadcast?.publish(rows.map { EventBroadcast.Item(topic: Shard.baseTopic($0.topic), body: $0.body) })
                sentThrough = last.id
                for row in rows { sentLatest[row.topic] = max(sentLatest[row.topic] ?? 0, row.seq) }
                // Remembered so a restart resends only what may not have gone out (consumers skip repeats).
                try await outbox.setSentThrough(sentThrough)
            }
            if var heartbeat = state.withLock({ state in
                defer { state.heartbeat = nil }
                return state.heartbeat
            }) {
                heartbeat.latestSeq.merge(sentLatest) { max($0, $1) }
                publisher.publishControl(heartbeat, epoch: outbox.epoch)
            }
            // Once a second, and after every full batch (a backlog is exactly when the gauges and alarm matter).
            if rows.count == Self.batchSize || ContinuousClock.now - lastGauge >= .seconds(1) {
                lastGauge = .now
                let unsent = try await outbox.unsent()
                metrics.outboxDepth.record(unsent.count)
                metrics.outboxOldestUnsentSeconds.record(unsent.oldestAgeSeconds)
                let behind =
                    unsent.count >= configuration.outboxAlarmRows
                    || unsent.oldestAgeSeconds >= Double(configuration.outboxAlarmAge.components.seconds)
                if behind != alarmRaised {
                    // Once per episode, not once a second: the gauges carry the detail in between.
                    alarmRaised = behind
                    let metadata: Logger.Metadata = ["unsent": "\(unsent.count)", "oldestSeconds": "\(Int(unsent.oldestAgeSeconds))"]
                    if behind {
                        metrics.outboxAlarms.increment()
                        logger.warning(
                            "outbox backlog: committed events are waiting to be sent; the relay is not keeping up", metadata: metadata)
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
        let (requests, allowance) = state.withLock { state in
            defer { state.pending = [] }
            return (state.pending, state.gate.rowAllowance())
        }
        var left = allowance
        for (index, request) in requests.enumerated() {
            guard left > 0 else {
                // The row budget is spent for now: keep the rest for the next turn, in order.
                state.withLock { $0.pending.insert(contentsOf: requests[index...], at: 0) }
                break
            }
            let (rows, firstAvailable, latest) = try await outbox.replayRows(
                topic: request.topic, fromSeq: request.fromSeq, toSeq: request.toSeq,
                limit: min(configuration.replayBatchLimit, left))
            left -= rows.count
            state.withLock { $0.gate.spend(rows: rows.count, for: request) }
            let oldestHeld = firstAvailable ?? (latest + 1)
            if request.fromSeq < oldestHeld && request.fromSeq <= latest {
                // Part of the range was pruned: say so, then send what is left.
                publisher.publishControl(
                    BusReplayUnavailable(
                        stream: outbox.stream, topic: request.topic, fromSeq: request.fromSeq, firstAvailableSeq: oldestHeld,
                        requestedBy: request.requestedBy, resynchronisation: configuration.resynchronisation))
                logger.warning(
                    "replay range no longer held",
                    metadata: [
                        "topic": "\(request.topic)", "from": "\(request.fromSeq)", "firstAvailable": "\(oldestHeld)",
                        "requestedBy": "\(request.requestedBy)"
                    ])
            }
            guard !rows.isEmpty else { continue }
            publisher.publish(
                messages: bundled(
                    try rows.map { row in
                        var item = row.item
                        item.header = try outbox.markedAsReplay(row.header)
                        return item
                    }))
            metrics.replaysServed.increment()
            metrics.replayedMessages.increment(by: Int64(rows.count))
            logger.debug(
                "replayed", metadata: ["topic": "\(request.topic)", "from": "\(request.fromSeq)", "count": "\(rows.count)"])
        }
    }
}
