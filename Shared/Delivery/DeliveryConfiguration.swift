import VectisBus

/// Tuning of reliable delivery; every value has a default that suits one machine.
public struct DeliveryConfiguration: Sendable {
    /// Sent outbox rows older than this are pruned…
    public var outboxMaxAge: Duration
    /// …and so are sent rows beyond the newest this many.
    public var outboxMaxRows: Int
    /// How often retention runs.
    public var pruneInterval: Duration
    /// How often `service.heartbeat` goes out.
    public var heartbeatInterval: Duration
    /// A replay request that brought no progress is repeated after this long.
    public var replayRetryAfter: Duration
    /// Most rows one replay re-sends; a requester still behind asks again.
    public var replayBatchLimit: Int
    /// Replay requests served per second *per requester*, with bursts up to `replayBurst` (a storm cannot melt the
    /// bus, and one noisy requester cannot use up the others' share).
    public var replayRequestsPerSecond: Double
    public var replayBurst: Double
    /// Rows an owner re-sends per second at most, whoever asks (bursts of twice that).
    public var replayRowsPerSecond: Double
    /// First wait after a batch failed on a transient database error (busy, full, I/O); it doubles up to
    /// `applyRetryMaxDelay`, and the batch is retried until it applies — never dead-lettered for it.
    public var applyRetryDelay: Duration
    public var applyRetryMaxDelay: Duration
    /// After this many failed attempts in a row, `/readyz` reports the service not ready.
    public var applyFailureStreakUnready: Int
    /// What the owner tells a subscriber whose replay range was pruned.
    public var resynchronisation: String?
    /// The relay raises its alarm (a warning, `vectis_bus_outbox_alarms_total`) when this many committed rows wait
    /// to be sent, or the oldest has waited `outboxAlarmAge`: the service is producing faster than it can send.
    public var outboxAlarmRows: Int
    public var outboxAlarmAge: Duration
    /// Most events the relay sends in one bus message (`BusBundle`); 1 sends every event alone, as a version before
    /// bundles did (set it while services of such a version still consume this service's stream).
    public var bundleEvents: Int

    public init(
        outboxMaxAge: Duration = .seconds(72 * 3600), outboxMaxRows: Int = 1_000_000,
        pruneInterval: Duration = .seconds(30), heartbeatInterval: Duration = .seconds(5), replayRetryAfter: Duration = .seconds(2),
        replayBatchLimit: Int = 20_000, replayRequestsPerSecond: Double = 5, replayBurst: Double = 20,
        replayRowsPerSecond: Double = 50_000, applyRetryDelay: Duration = .milliseconds(50),
        applyRetryMaxDelay: Duration = .seconds(5), applyFailureStreakUnready: Int = 3,
        resynchronisation: String? = nil, outboxAlarmRows: Int = 50_000, outboxAlarmAge: Duration = .seconds(60),
        bundleEvents: Int = BusBundle.defaultEvents
    ) {
        self.bundleEvents = bundleEvents
        self.outboxAlarmRows = outboxAlarmRows
        self.outboxAlarmAge = outboxAlarmAge
        self.outboxMaxAge = outboxMaxAge
        self.outboxMaxRows = outboxMaxRows
        self.pruneInterval = pruneInterval
        self.heartbeatInterval = heartbeatInterval
        self.replayRetryAfter = replayRetryAfter
        self.replayBatchLimit = replayBatchLimit
        self.replayRequestsPerSecond = replayRequestsPerSecond
        self.replayBurst = replayBurst
        self.replayRowsPerSecond = replayRowsPerSecond
        self.applyRetryDelay = applyRetryDelay
        self.applyRetryMaxDelay = applyRetryMaxDelay
        self.applyFailureStreakUnready = applyFailureStreakUnready
        self.resynchronisation = resynchronisation
    }
}
