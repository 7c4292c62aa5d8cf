import Metrics

/// Counters and gauges of reliable delivery, beside the socket-level `BusMetrics`.
public struct DeliveryMetrics: Sendable {
    public let applied: Counter
    public let duplicatesSkipped: Counter
    public let gapsDetected: Counter
    public let replaysRequested: Counter
    public let replaysServed: Counter
    public let replayedMessages: Counter
    public let replayUnavailable: Counter
    public let replayRequestsThrottled: Counter
    public let applyFailures: Counter
    public let outboxDepth: Gauge
    public let outboxOldestUnsentSeconds: Gauge
    public let outboxPruned: Counter
    public let outboxAlarms: Counter
    /// Replay requests not served, by `ReplayGate.Refusal` reason.
    let replayRefused: [String: Counter]
    /// Control messages that decoded but made no sense here (wrong stream, not asked for, out of range), by reason.
    let controlRejected: [String: Counter]
    /// A producer's numbering started again under a new epoch (its database was lost or replaced).
    public let epochChanges: Counter
    /// A producer's heartbeat, in the same epoch, announced less than was already applied (twice in a row).
    public let streamRegressions: Counter
    /// Batches rolled back on a transient database error and retried.
    public let applyRetries: Counter
    /// Consecutive failed attempts to apply the current batch (0 when the last one worked).
    public let applyFailureStreak: Gauge

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        applied = Counter(label: "vectis_bus_applied_total", factory: factory)
        duplicatesSkipped = Counter(label: "vectis_bus_duplicates_skipped_total", factory: factory)
        gapsDetected = Counter(label: "vectis_bus_gaps_detected_total", factory: factory)
        replaysRequested = Counter(label: "vectis_bus_replays_requested_total", factory: factory)
        replaysServed = Counter(label: "vectis_bus_replays_served_total", factory: factory)
        replayedMessages = Counter(label: "vectis_bus_replayed_messages_total", factory: factory)
        replayUnavailable = Counter(label: "vectis_bus_replay_unavailable_total", factory: factory)
        replayRequestsThrottled = Counter(label: "vectis_bus_replay_requests_throttled_total", factory: factory)
        applyFailures = Counter(label: "vectis_bus_apply_failures_total", factory: factory)
        outboxDepth = Gauge(label: "vectis_bus_outbox_depth", factory: factory)
        outboxOldestUnsentSeconds = Gauge(label: "vectis_bus_outbox_oldest_unsent_seconds", factory: factory)
        outboxPruned = Counter(label: "vectis_bus_outbox_pruned_total", factory: factory)
        outboxAlarms = Counter(label: "vectis_bus_outbox_alarms_total", factory: factory)
        replayRefused = Dictionary(
            uniqueKeysWithValues: ReplayGate.Refusal.allCases.map {
                (
                    $0.rawValue,
                    Counter(label: "vectis_bus_replay_requests_refused_total", dimensions: [("reason", $0.rawValue)], factory: factory)
                )
            })
        controlRejected = Dictionary(
            uniqueKeysWithValues: ControlRejection.allCases.map {
                ($0.rawValue, Counter(label: "vectis_bus_control_rejected_total", dimensions: [("reason", $0.rawValue)], factory: factory))
            })
        epochChanges = Counter(label: "vectis_bus_epoch_changes_total", factory: factory)
        streamRegressions = Counter(label: "vectis_bus_stream_regressions_total", factory: factory)
        applyRetries = Counter(label: "vectis_bus_apply_retries_total", factory: factory)
        applyFailureStreak = Gauge(label: "vectis_bus_apply_failure_streak", factory: factory)
    }

    func refused(_ reason: ReplayGate.Refusal) { replayRefused[reason.rawValue]?.increment() }
    func rejected(_ reason: ControlRejection) { controlRejected[reason.rawValue]?.increment() }
}

/// Why a consumer ignored a control message that passed the decoder.
enum ControlRejection: String, CaseIterable, Sendable {
    /// A heartbeat or replay notice naming another stream than the one that sent it.
    case streamMismatch = "stream_mismatch"
    /// A replay request whose requester is not the stream that sent it.
    case requesterMismatch = "requester_mismatch"
    /// A replay notice for a replay this consumer did not ask for.
    case notRequested = "not_requested"
    /// A replay notice whose first available seq is not between the cursor and what the owner announced.
    case outOfRange = "out_of_range"
    /// A message from an epoch this consumer already saw replaced.
    case retiredEpoch = "retired_epoch"
}
