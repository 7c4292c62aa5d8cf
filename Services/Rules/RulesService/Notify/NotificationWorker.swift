import Foundation
import GRDB
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VectisAPI
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Sends queued notifications and queues each channel's daily digest when it is due.
///
/// Each message is marked in flight (committed) before it is sent and sent after: one found in flight after a crash
/// is sent again with the same delivery id (`X-Vectis-Delivery`, the e-mail's Message-ID), which receivers can use
/// to drop the copy. A failure is kept in the channel's status in the server's own words and retried with backoff
/// (10 s doubling to 15 min) for two days. Channels are served side by side, so one slow server delays only its own
/// messages; each channel keeps to its rate (messages per hour), and the rest wait their turn.
final class NotificationWorker: Service, Sendable {
    let database: DatabasePool
    let secrets: SecretBox
    let delivery: ChannelDelivery
    let console: String
    let logger: Logger
    let clock: @Sendable () -> Date
    let wake = WakeSignal()
    let sent: Counter
    let failed: Counter

    init(
        database: DatabasePool, secrets: SecretBox, delivery: ChannelDelivery, console: String, metrics: any MetricsFactory,
        logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        sent = Counter(label: "vectis_rules_notifications_sent_total", factory: metrics)
        failed = Counter(label: "vectis_rules_notification_failures_total", factory: metrics)
        self.database = database
        self.secrets = secrets
        self.delivery = delivery
        self.console = console
        self.logger = logger
        self.clock = clock
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            // Each channel's batch runs as a task of its own: the loop goes on picking up the other channels' work (and
            // the digests) while one server is slow; a channel is not picked up again before its batch ends.
            await withDiscardingTaskGroup { group in
                var logLimiter = TicketWorker.LogLimiter(perMinute: 6)
                var pruned = Date.distantPast
                while !Task.isCancelled {
                    do {
                        if clock().timeIntervalSince(pruned) > 3_600 {
                            pruned = clock()
                            let cutoff = pruned - NotificationQueue.keep
                            _ = try await database.write { db in try NotificationQueue.prune(olderThan: cutoff, db) }
                        }
                        try await queueDueDigests()
                        let batches = try await dueBatches()
                        for (channel, messages) in batches {
                            group.addTask { [self] in
                                do {
                                    try await send(messages, channel: channel)
                                } catch {
                                    logger.error(
                                        "notifications of a channel failed", metadata: ["channel": "ch_\(channel)", "error": "\(error)"])
                                }
                                busy.withLock { _ = $0.remove(channel) }
                                wake.signal()
                            }
                        }
                        if batches.isEmpty { await wake.wait(timeout: .seconds(1)) }
                    } catch is CancellationError {
                        return
                    } catch {
                        // The database itself failed: said, then tried again after a pause.
                        if logLimiter.allow() { logger.error("notification queue failed", metadata: ["error": "\(error)"]) }
                        try? await Task.sleep(for: .seconds(2))
                    }
                }
            }
        }
    }

    /// Channels whose batch is being sent.
    private let busy = Mutex<Set<Int64>>([])

    /// What is due, by channel, for the channels not already busy (which are marked busy here).
    func dueBatches() async throws -> [(Int64, [NotificationRecord])] {
        // Which channels are busy is taken before the read: a batch that ends during the read may have sent what the
        // read still shows as due, so its channel waits for the next round (only this loop starts batches, so a
        // channel idle now has nothing in flight).
        let busyBefore = busy.withLock { $0 }
        let now = clock()
        let due = try await database.read { db in try NotificationQueue.due(now: now, db) }
        let byChannel = Dictionary(grouping: due, by: \.channelId)
        return busy.withLock { busy in
            byChannel.filter { !busyBefore.contains($0.key) && busy.insert($0.key).inserted }.sorted { $0.key < $1.key }
        }
    }

    /// One channel's due messages in order, within its rate; the batch ends at the first failure (the rest wait for
    /// the retry, rather than each waiting out the same broken server).
    func send(_ messages: [NotificationRecord], channel id: Int64) async throws {
        for message in messages {
            let now = clock()
            guard let channel = try await database.read({ db in try ChannelRecord.find(id: id, db) }), channel.enabled else { return }
            let window = try await database.read { db in try NotificationQueue.sent(channel: id, since: now - 3_600, db) }
            if window.count >= channel.ratePerHour {
                // Held, not dropped: this channel's waiting messages go when the oldest send leaves the hour.
                let until = (window.oldest ?? now) + 3_601
                try await database.write { db in
                    for waiting in messages where waiting.id >= message.id {
                        try NotificationQueue.reschedule(
                            waiting.id, notBefore: until, error: "held by the channel's rate limit (\(channel.ratePerHour) per hour)", db)
                    }
                }
                return
            }
            guard try await deliver(message, channel: channel, now: now) else { return }
        }
    }

    /// Sends one message; false when it failed (and is rescheduled or given up).
    func deliver(_ message: NotificationRecord, channel: ChannelRecord, now: Date) async throws -> Bool {
        try await database.write { db in try NotificationQueue.markInFlight(message.id, db) }
        let attempts = message.attempts + 1
        do {
            guard let payload = try? message.payload() else { throw DeliveryFailure(message: "the queued message cannot be read") }
            try await send(payload, to: channel, now: now)
            let sentAt = clock()
            try await database.write { db in
                try NotificationQueue.markSent(message.id, at: sentAt, db)
                try ChannelRecord.markDelivered(channel.id, at: sentAt, db)
            }
            sent.increment()
            return true
        } catch let failure as DeliveryFailure {
            failed.increment()
            let failedAt = clock()
            try await database.write { db in
                try ChannelRecord.markFailing(channel.id, error: failure.message, at: failedAt, db)
                if failedAt.timeIntervalSince(message.createdAt) > NotificationQueue.giveUpAfter {
                    try NotificationQueue.markFailed(message.id, error: "given up after two days: \(failure.message)", db)
                } else {
                    let wait = failure.retryAfter ?? NotificationQueue.backoff(attempts: attempts)
                    try NotificationQueue.reschedule(message.id, notBefore: failedAt + wait, error: failure.message, db)
                    try NotificationQueue.hold(channel: channel.id, until: failedAt + wait, db)
                }
            }
            logger.warning(
                "notification not delivered; retried later",
                metadata: ["channel": "\(ChannelRecord.publicId(channel.id))", "notification": "\(NotificationRecord.publicId(message.id))"]
            )
            return false
        }
    }

    /// Queues the digest of every channel whose time has come (once per channel and local day) and sets the next.
    func queueDueDigests() async throws {
        let now = clock()
        let queued = try await database.write { [console] db -> Bool in
            var queued = false
            for channel in try ChannelRecord.digestsDue(at: now, db) {
                guard let schedule = channel.digestAt.flatMap({ DigestSchedule(at: $0, timeZone: channel.digestTimeZone) }) else {
                    try ChannelRecord.setNextDigest(channel.id, at: nil, db)
                    continue
                }
                let day = schedule.day(of: channel.nextDigestAt ?? now)
                queued = try Self.queueDigest(channel: channel, day: day, token: day, console: console, now: now, db) || queued
                try ChannelRecord.setNextDigest(channel.id, at: schedule.next(after: now), db)
            }
            return queued
        }
        if queued { wake.signal() }
    }

    /// Queues one digest for a channel; false when that day's digest was already queued.
    static func queueDigest(channel: ChannelRecord, day: String, token: String, console: String, now: Date, _ db: Database) throws -> Bool {
        let message = NotificationMessages.digest(
            try OpenProblems.all(tenant: channel.tenant, now: now, db), day: day, console: console, at: now)
        return try NotificationQueue.enqueue(
            channel: channel.id, rule: nil, dedupeKey: "digest:\(channel.tenant)", event: .digest, token: token, message: message,
            now: now, db)
    }

    /// Sends `payload` with the channel's settings and opened secrets.
    func send(_ payload: WebhookPayload, to channel: ChannelRecord, now: Date) async throws(DeliveryFailure) {
        let settings: ChannelSettings
        let secretValues: ChannelSecrets
        do {
            settings = try channel.channelSettings()
            secretValues = try channel.channelSecrets(secrets)
        } catch {
            throw DeliveryFailure(message: ChannelRecord.unreadableSecrets)
        }
        try await delivery.send(payload, kind: channel.kind, settings: settings, secrets: secretValues, now: now)
    }

    /// The Test button: one message sent now, not queued; the channel's status says how it went.
    func test(_ channel: ChannelRecord) async throws -> ChannelTestOutcome {
        let now = clock()
        var payload = NotificationMessages.test(channel: channel.name, console: console, at: now)
        payload.delivery = "test-\(Int(now.timeIntervalSince1970))"
        do {
            try await send(payload, to: channel, now: now)
            try await database.write { db in try ChannelRecord.markDelivered(channel.id, at: now, db) }
            return ChannelTestOutcome(ok: true)
        } catch let failure as DeliveryFailure {
            try await database.write { db in try ChannelRecord.markFailing(channel.id, error: failure.message, at: now, db) }
            return ChannelTestOutcome(ok: false, error: failure.message)
        }
    }
}
