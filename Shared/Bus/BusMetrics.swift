import Metrics

/// The bus counters of one service: what it published, received, and dropped (by reason).
public struct BusMetrics: Sendable {
    public let published: Counter
    public let received: Counter
    public let delivered: Counter
    /// Batches handed to the service: delivered ÷ batches is the batch size its transactions see.
    public let batches: Counter
    private let dropped: [DropReason: Counter]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        published = Counter(label: "vectis_bus_published_total", factory: factory)
        received = Counter(label: "vectis_bus_received_total", factory: factory)
        delivered = Counter(label: "vectis_bus_delivered_total", factory: factory)
        batches = Counter(label: "vectis_bus_batches_total", factory: factory)
        var dropped: [DropReason: Counter] = [:]
        for reason in DropReason.allCases {
            dropped[reason] = Counter(
                label: "vectis_bus_dropped_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.dropped = dropped
    }

    public func dropped(_ reason: DropReason) {
        dropped[reason]?.increment()
    }
}
