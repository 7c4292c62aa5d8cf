import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import VectisBus
import VectisContracts

/// Applies what a service consumes exactly once, in order per (stream, topic), and asks for what it missed.
///
/// Each batch from the subscriber becomes one SQLite transaction that runs the service's handler for every new
/// message and stores `(stream, topic, last applied seq)` with it. A message at or below the stored seq is a
/// duplicate and is skipped; one beyond the next expected seq reveals a gap: it is not applied (that would
/// skip the missing ones for good), and `bus.replay.requested` asks the owner to re-send from the first
/// missing seq. Start-up and heartbeats trigger the same request when the owner is ahead.
///
/// Nothing that arrives is trusted for more than it can prove: control messages are checked against what this
/// consumer asked for and what the owner announced (`BusConsumer+Control.swift`), a stream whose epoch changes
/// is read again from its start (`BusConsumer+Epochs.swift`), and a transient database error rolls the batch
/// back and retries it instead of setting messages aside.
public final class BusConsumer: Service, Sendable {
    /// Runs inside the batch's transaction. Append to the outbox through `db` to publish in the same commit.
    public typealias Handler = @Sendable (ReceivedEvent, Database) throws -> Void

    public struct Key: Hashable, Sendable {
        public var stream: String
        public var topic: String
    }

    let subscriber: BusSubscriber
    let publisher: BusPublisher
    let database: DatabasePool
    let filters: [TopicFilter]
    let relay: OutboxRelay?
    let configuration: DeliveryConfiguration
    let metrics: DeliveryMetrics
    let logger: Logger
    let handler: Handler
    let state = Mutex(State())

    struct State {
        var cursors: [Key: UInt64] = [:]
        /// Replays asked for and not yet answered by progress.
        var pending: [Key: ContinuousClock.Instant] = [:]
        /// The latest seq each owner's heartbeat announced, per (stream, topic) this consumer takes.
        var announced: [Key: UInt64] = [:]
        /// A heartbeat announced less than the cursor once: the seq it announced (a second one confirms).
        var suspectedRegression: [Key: UInt64] = [:]
        /// The owner said it no longer holds what was asked for: the first seq it still has. The loss is accepted
        /// only when a message with exactly that seq arrives from the stream — a notice alone moves nothing.
        var skipAllowed: [Key: UInt64] = [:]
        /// Per stream: the epoch its cursors belong to, and epochs seen replaced (their stragglers are dropped).
        var epochs: [String: String] = [:]
        var retiredEpochs: [String: [String]] = [:]
        var lastOwnHeartbeat: ContinuousClock.Instant?
        var applyFailureStreak = 0
    }

    /// `filters` are the data topics the handler wants; heartbeats and replay traffic are handled here.
    public init(
        subscriber: BusSubscriber, publisher: BusPublisher, database: DatabasePool, filters: [TopicFilter],
        relay: OutboxRelay?, configuration: DeliveryConfiguration, metrics: DeliveryMetrics, logger: Logger,
        handler: @escaping Handler
    ) {
        self.subscriber = subscriber
        self.publisher = publisher
        self.database = database
        self.filters = filters
        self.relay = relay
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.handler = handler
    }

    /// The control topics every reliable subscriber takes besides its data topics.
    public static let controlFilters: [TopicFilter] = [
        .exact(ServiceHeartbeat.topic), .exact(BusReplayRequested.topic), .exact(BusReplayUnavailable.topic)
    ]

    /// The bus is live when this service's own heartbeat came back through it recently.
    public var isLive: Bool {
        state.withLock { state in
            guard let last = state.lastOwnHeartbeat else { return false }
            return ContinuousClock.now - last < configuration.heartbeatInterval * 3
        }
    }

    /// Consecutive failed attempts to apply the current batch; `/readyz` fails from
    /// `DeliveryConfiguration.applyFailureStreakUnready` on.
    public var applyFailureStreak: Int { state.withLock { $0.applyFailureStreak } }

    public var isApplying: Bool { applyFailureStreak < configuration.applyFailureStreakUnready }

    /// Last applied seq per (stream, topic), as stored.
    public var cursors: [Key: UInt64] { state.withLock { $0.cursors } }

    public func run() async throws {
        let (stored, epochs) = try await database.read { db in
            let cursors = try Row.fetchAll(db, sql: "SELECT stream, topic, last_applied FROM bus_cursor").map {
                (Key(stream: $0["stream"], topic: $0["topic"]), UInt64(clamping: $0["last_applied"] as Int64))
            }
            let epochs = try Row.fetchAll(db, sql: "SELECT stream, epoch, retired FROM bus_stream_epoch").map {
                ($0["stream"] as String, $0["epoch"] as String, ($0["retired"] as String).split(separator: ",").map(String.init))
            }
            return (cursors, epochs)
        }
        state.withLock { state in
            state.cursors = Dictionary(stored, uniquingKeysWith: max)
            for (stream, epoch, retired) in epochs {
                state.epochs[stream] = epoch
                state.retiredEpochs[stream] = retired
            }
        }
        _ = await subscriber.waitUntilReady()
        _ = await publisher.waitUntilReady()
        // Ask every known stream for what it published while this service was away.
        for (key, last) in stored {
            requestReplay(key, from: last + 1, reason: .startup)
        }
        for await batch in subscriber.batches.cancelOnGracefulShutdown() {
            await handle(batch)
        }
    }

    func handle(_ batch: [ReceivedEvent]) async {
        var toApply: [ReceivedEvent] = []
        var working = state.withLock { $0.cursors }
        var checkedEpochs: [String: String] = [:]
        for item in batch {
            if ControlTopics.contains(item.topic) {
                // Control messages may reset cursors (a new epoch): what was gathered is applied first.
                if !toApply.isEmpty, await commit(&toApply) == false { return }
                await handleControl(item)
                working = state.withLock { $0.cursors }
                checkedEpochs = [:]
                continue
            }
            // The epoch check takes the lock; within a batch a stream's epoch is checked once (the hot path).
            if let epoch = item.header.epoch, checkedEpochs[item.header.stream] != epoch {
                switch epochVerdict(item.header) {
                case .retired:
                    metrics.rejected(.retiredEpoch)
                    continue
                case .changed(let epoch):
                    if !toApply.isEmpty, await commit(&toApply) == false { return }
                    await changeEpoch(of: item.header.stream, to: epoch)
                    working = state.withLock { $0.cursors }
                case .current:
                    break
                case .first(let epoch):
                    await adopt(epoch, for: item.header.stream)
                }
                checkedEpochs[item.header.stream] = epoch
            }
            let key = Key(stream: item.header.stream, topic: item.topic)
            let last = working[key] ?? 0
            let seq = item.header.seq
            if seq <= last {
                metrics.duplicatesSkipped.increment()
            } else if seq == last + 1 {
                toApply.append(item)
                working[key] = seq
            } else if acceptLoss(key, before: seq, after: last) {
                toApply.append(item)
                working[key] = seq
            } else {
                gap(key, last: last, reason: .gap)
            }
        }
        if !toApply.isEmpty { _ = await commit(&toApply) }
    }

    /// The owner announced it pruned everything before `seq`, and here is `seq` itself: the loss is real.
    private func acceptLoss(_ key: Key, before seq: UInt64, after last: UInt64) -> Bool {
        let allowed = state.withLock { state -> Bool in
            guard state.skipAllowed[key] == seq else { return false }
            state.skipAllowed[key] = nil
            return true
        }
        guard allowed else { return false }
        metrics.replayUnavailable.increment()
        logger.error(
            "messages lost: the owner no longer holds them; continuing from what it has",
            metadata: [
                "stream": "\(LogText.cut(key.stream))", "topic": "\(LogText.cut(key.topic))", "from": "\(last + 1)",
                "firstAvailable": "\(seq)"
            ])
        return true
    }

    /// Applies `items` (retrying transient failures) and moves the cursors; false when they were not applied.
    private func commit(_ items: inout [ReceivedEvent]) async -> Bool {
        defer { items.removeAll(keepingCapacity: true) }
        guard await applyRetrying(items) else { return false }
        state.withLock { state in
            for item in items {
                let key = Key(stream: item.header.stream, topic: item.topic)
                state.cursors[key] = max(state.cursors[key] ?? 0, item.header.seq)
                state.pending[key] = nil
            }
        }
        metrics.applied.increment(by: Int64(items.count))
        return true
    }

    /// SQLite said busy, full, locked or I/O: the batch is rolled back and tried again after a pause that
    /// doubles, for as long as it takes — the messages are fine, the database is not (yet).
    private func applyRetrying(_ items: [ReceivedEvent]) async -> Bool {
        var delay = configuration.applyRetryDelay
        while true {
            do {
                try await apply(items)
                state.withLock { $0.applyFailureStreak = 0 }
                metrics.applyFailureStreak.record(0)
                return true
            } catch  where Self.isTransient(error) {
                let streak = state.withLock { state in
                    state.applyFailureStreak += 1
                    return state.applyFailureStreak
                }
                metrics.applyRetries.increment()
                metrics.applyFailureStreak.record(streak)
                if streak == 1 || streak % 20 == 0 {
                    logger.warning(
                        "could not apply a batch (transient database error); retrying",
                        metadata: ["attempt": "\(streak)", "error": "\(error)", "retryInMs": "\(delay.milliseconds)"])
                }
                if Task.isCancelled || Task.isShuttingDownGracefully { return false }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.applyRetryMaxDelay)
            } catch {
                // Not transient and not one message's fault (those are dead-lettered inside `apply`): nothing was
                // applied and the cursors did not move, so the next message shows the gap and replays it.
                logger.error("could not apply a batch; it will be replayed", metadata: ["error": "\(error)"])
                return false
            }
        }
    }

    /// Errors of the database, not of the message: retried, never dead-lettered.
    static func isTransient(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return [.SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_NOMEM, .SQLITE_PROTOCOL]
            .contains(error.resultCode)
    }

    /// A handler refused a message of the batch: the batch's transaction is rolled back and redone message by message.
    private struct HandlerRefused: Error {}

    private func apply(_ items: [ReceivedEvent]) async throws {
        do {
            // Fast path: the whole batch straight in the transaction. No savepoint around it: SQLite would copy every
            // page the batch changes into a statement journal (a temporary file once past 64 KiB), which was a large
            // share of a busy consumer's writes. A failure rolls the whole transaction back instead.
            try await write(items, oneByOne: false)
        } catch is HandlerRefused {
            // Some handler failed: redo message by message, so only the failing ones are set aside.
            try await write(items, oneByOne: true)
        }
    }

    private func write(_ items: [ReceivedEvent], oneByOne: Bool) async throws {
        let handler = self.handler
        let metrics = self.metrics
        let logger = self.logger
        try await database.write { db in
            let now = Date().timeIntervalSince1970
            var latest: [Key: UInt64] = [:]
            for item in items {
                latest[Key(stream: item.header.stream, topic: item.topic)] = item.header.seq
            }
            if !oneByOne {
                do {
                    for item in items { try handler(item, db) }
                } catch  where Self.isTransient(error) {
                    throw error
                } catch {
                    throw HandlerRefused()
                }
            } else {
                for item in items {
                    do {
                        try db.inSavepoint {
                            try handler(item, db)
                            return .commit
                        }
                    } catch  where Self.isTransient(error) {
                        throw error
                    } catch {
                        // A message its handler cannot take is kept, not retried forever and not lost.
                        metrics.applyFailures.increment()
                        logger.error(
                            "handler failed; message kept in bus_dead_letter (vectis dead-letters list|retry)",
                            metadata: [
                                "topic": "\(LogText.cut(item.topic))", "stream": "\(LogText.cut(item.header.stream))",
                                "seq": "\(item.header.seq)", "error": "\(error)"
                            ])
                        try DeadLetters.insert(item, error: error, at: now, in: db)
                    }
                }
            }
            // One cursor write per (stream, topic) per batch, in the same transaction as the applies.
            for (key, seq) in latest {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO bus_cursor (stream, topic, last_applied, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (stream, topic) DO UPDATE SET last_applied = excluded.last_applied,
                            updated_at = excluded.updated_at
                        """
                ).execute(arguments: [key.stream, key.topic, Int64(clamping: seq), now])
            }
        }
    }

    func gap(_ key: Key, last: UInt64, reason: BusReplayRequested.Reason) {
        let now = ContinuousClock.now
        let ask = state.withLock { state -> Bool in
            if let asked = state.pending[key], now - asked < configuration.replayRetryAfter { return false }
            state.pending[key] = now
            return true
        }
        guard ask else { return }
        metrics.gapsDetected.increment()
        logger.info(
            "missed messages; asking for a replay",
            metadata: [
                "stream": "\(LogText.cut(key.stream))", "topic": "\(LogText.cut(key.topic))", "from": "\(last + 1)",
                "reason": "\(reason.rawValue)"
            ])
        requestReplay(key, from: last + 1, reason: reason)
    }

    func requestReplay(_ key: Key, from seq: UInt64, reason: BusReplayRequested.Reason) {
        // Cursors never exceed Int64.max (validated on the way in), so `seq` is a valid fromSeq.
        guard BusLimits.isSeq(seq) else { return }
        metrics.replaysRequested.increment()
        state.withLock { $0.pending[key] = .now }
        publisher.publishControl(
            BusReplayRequested(
                stream: key.stream, topic: key.topic, fromSeq: seq, requestedBy: publisher.stream, reason: reason))
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds &* 1_000 &+ components.attoseconds / 1_000_000_000_000_000
    }
}
