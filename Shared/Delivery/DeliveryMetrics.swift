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
    }
}
