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
public final class BusConsumer: Service, Sendable {
    /// Runs inside the batch's transaction. Append to the outbox through `db` to publish in the same commit.
    public typealias Handler = @Sendable (ReceivedEvent, Database) throws -> Void

    public struct Key: Hashable, Sendable {
        public var stream: String
        public var topic: String
    }

    private let subscriber: BusSubscriber
    private let publisher: BusPublisher
    private let database: DatabasePool
    private let filters: [TopicFilter]
    private let relay: OutboxRelay?
    private let configuration: DeliveryConfiguration
    private let metrics: DeliveryMetrics
    private let logger: Logger
    private let handler: Handler
    private let state = Mutex(State())

    struct State {
        var cursors: [Key: UInt64] = [:]
        /// Replays asked for and not yet answered by progress.
        var pending: [Key: ContinuousClock.Instant] = [:]
        var lastOwnHeartbeat: ContinuousClock.Instant?
        var started = false
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
        .exact(ServiceHeartbeat.topic), .exact(BusReplayRequested.topic), .exact(BusReplayUnavailable.topic),
    ]

    /// The bus is live when this service's own heartbeat came back through it recently.
    public var isLive: Bool {
        state.withLock { state in
            guard let last = state.lastOwnHeartbeat else { return false }
            return ContinuousClock.now - last < configuration.heartbeatInterval * 3
        }
    }

    /// Last applied seq per (stream, topic), as stored.
    public var cursors: [Key: UInt64] { state.withLock { $0.cursors } }

    public func run() async throws {
        let stored = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT stream, topic, last_applied FROM bus_cursor").map {
                (Key(stream: $0["stream"], topic: $0["topic"]), $0["last_applied"] as UInt64)
            }
        }
        state.withLock { $0.cursors = Dictionary(stored, uniquingKeysWith: max) }
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
        for item in batch {
            if ControlTopics.contains(item.topic) {
                await handleControl(item)
                continue
            }
            let key = Key(stream: item.header.stream, topic: item.topic)
            let last = working[key] ?? 0
            let seq = item.header.seq
            if seq <= last {
                metrics.duplicatesSkipped.increment()
            } else if seq == last + 1 {
                toApply.append(item)
                working[key] = seq
            } else {
                gap(key, last: last, reason: .gap)
            }
        }
        guard !toApply.isEmpty else { return }
        do {
            try await apply(toApply)
            state.withLock { state in
                for item in toApply {
                    let key = Key(stream: item.header.stream, topic: item.topic)
                    state.cursors[key] = max(state.cursors[key] ?? 0, item.header.seq)
                    state.pending[key] = nil
                }
            }
            metrics.applied.increment(by: Int64(toApply.count))
        } catch {
            // Nothing was applied; the cursors did not move, so the next message shows the gap and replays it.
            logger.error("could not apply a batch; it will be replayed", metadata: ["error": "\(error)"])
        }
    }

    private func apply(_ items: [ReceivedEvent]) async throws {
        let handler = self.handler
        let metrics = self.metrics
        let logger = self.logger
        try await database.write { db in
            let now = Date().timeIntervalSince1970
            var latest: [Key: UInt64] = [:]
            for item in items {
                latest[Key(stream: item.header.stream, topic: item.topic)] = item.header.seq
            }
            do {
                // Fast path: the whole batch in one savepoint.
                try db.inSavepoint {
                    for item in items { try handler(item, db) }
                    return .commit
                }
            } catch {
                // Some handler failed: redo message by message, so only the failing ones are set aside.
                for item in items {
                    do {
                        try db.inSavepoint {
                            try handler(item, db)
                            return .commit
                        }
                    } catch {
                        // A message its handler cannot take is kept, not retried forever and not lost.
                        metrics.applyFailures.increment()
                        logger.error(
                            "handler failed; message kept in bus_dead_letter",
                            metadata: ["topic": "\(item.topic)", "stream": "\(item.header.stream)",
                                       "seq": "\(item.header.seq)", "error": "\(error)"])
                        try db.execute(
                            sql: """
                                INSERT INTO bus_dead_letter (stream, topic, seq, header, body, error, failed_at)
                                VALUES (?, ?, ?, ?, ?, ?, ?)
                                """,
                            arguments: [item.header.stream, item.topic, item.header.seq, Data(item.header.jsonBytes()),
                                        Data(item.message.body), "\(error)", now])
                    }
                }
            }
            // One cursor write per (stream, topic) per batch, in the same transaction as the applies.
            for (key, seq) in latest {
                try db.cachedStatement(sql: """
                    INSERT INTO bus_cursor (stream, topic, last_applied, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (stream, topic) DO UPDATE SET last_applied = excluded.last_applied,
                        updated_at = excluded.updated_at
                    """
                ).execute(arguments: [key.stream, key.topic, seq, now])
            }
        }
    }

    private func handleControl(_ item: ReceivedEvent) async {
        switch item.event {
        case let heartbeat as ServiceHeartbeat:
            if heartbeat.stream == publisher.stream {
                state.withLock { $0.lastOwnHeartbeat = .now }
            }
            let cursors = state.withLock { $0.cursors }
            for (topic, latest) in heartbeat.latestSeq where filters.contains(where: { $0.matches(topic) }) {
                let key = Key(stream: heartbeat.stream, topic: topic)
                let last = cursors[key] ?? 0
                if latest > last { gap(key, last: last, reason: .heartbeat) }
            }
        case let request as BusReplayRequested:
            relay?.requestReplay(request)
        case let notice as BusReplayUnavailable where notice.requestedBy == publisher.stream:
            await accept(notice)
        default:
            break
        }
    }

    /// The owner pruned part of what we missed: count it, say so, and continue from what it still holds.
    private func accept(_ notice: BusReplayUnavailable) async {
        let key = Key(stream: notice.stream, topic: notice.topic)
        let skipTo = notice.firstAvailableSeq - 1
        guard (state.withLock { $0.cursors[key] ?? 0 }) < skipTo else { return }
        metrics.replayUnavailable.increment()
        logger.error(
            "messages lost: the owner no longer holds them",
            metadata: [
                "stream": "\(notice.stream)", "topic": "\(notice.topic)", "from": "\(notice.fromSeq)",
                "firstAvailable": "\(notice.firstAvailableSeq)",
                "resynchronisation": "\(notice.resynchronisation ?? "none offered")",
            ])
        do {
            try await database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO bus_cursor (stream, topic, last_applied, updated_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (stream, topic) DO UPDATE SET last_applied = max(last_applied, excluded.last_applied)
                        """,
                    arguments: [key.stream, key.topic, skipTo, Date().timeIntervalSince1970])
            }
            state.withLock { state in
                state.cursors[key] = max(state.cursors[key] ?? 0, skipTo)
                state.pending[key] = nil
            }
        } catch {
            logger.error("could not store the skipped range", metadata: ["error": "\(error)"])
        }
    }

    private func gap(_ key: Key, last: UInt64, reason: BusReplayRequested.Reason) {
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
            metadata: ["stream": "\(key.stream)", "topic": "\(key.topic)", "from": "\(last + 1)", "reason": "\(reason.rawValue)"])
        requestReplay(key, from: last + 1, reason: reason)
    }

    private func requestReplay(_ key: Key, from seq: UInt64, reason: BusReplayRequested.Reason) {
        metrics.replaysRequested.increment()
        state.withLock { $0.pending[key] = .now }
        publisher.publishControl(BusReplayRequested(
            stream: key.stream, topic: key.topic, fromSeq: seq, requestedBy: publisher.stream, reason: reason))
    }
}
