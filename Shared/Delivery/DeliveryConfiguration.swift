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
    /// Replay requests served per second per service, with bursts up to `replayBurst` (a storm cannot melt the bus).
    public var replayRequestsPerSecond: Double
    public var replayBurst: Double
    /// What the owner tells a subscriber whose replay range was pruned.
    public var resynchronisation: String?
    /// The relay raises its alarm (a warning, `vectis_bus_outbox_alarms_total`) when this many committed rows wait
    /// to be sent, or the oldest has waited `outboxAlarmAge`: the service is producing faster than it can send.
    public var outboxAlarmRows: Int
    public var outboxAlarmAge: Duration

    public init(
        outboxMaxAge: Duration = .seconds(72 * 3600), outboxMaxRows: Int = 1_000_000,
        pruneInterval: Duration = .seconds(30), heartbeatInterval: Duration = .seconds(5), replayRetryAfter: Duration = .seconds(2),
        replayBatchLimit: Int = 20_000, replayRequestsPerSecond: Double = 20, replayBurst: Double = 40,
        resynchronisation: String? = nil, outboxAlarmRows: Int = 50_000, outboxAlarmAge: Duration = .seconds(60)
    ) {
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
        self.resynchronisation = resynchronisation
    }
}
