import Metrics
import ZeroMQ

/// Turns the proxy's absolute STATISTICS counters into Prometheus counters (messages and bytes, per socket and
/// direction). Measured with libzmq 4.3.4: a three-frame bus message counts as one message, and the bytes are
/// the sum of its frames.
struct ProxyStatisticsMetrics: Sendable {
    /// In the order of `ZMQProxy.Statistics.values`.
    private let counters: [Counter]

    init(factory: any MetricsFactory) {
        var counters: [Counter] = []
        for socket in ["publishers", "subscribers"] {
            for direction in ["received", "sent"] {
                for unit in ["messages", "bytes"] {
                    counters.append(Counter(
                        label: "vectis_bus_proxy_\(unit)_total", dimensions: [("socket", socket), ("direction", direction)],
                        factory: factory))
                }
            }
        }
        self.counters = counters
    }

    /// Adds what grew since `previous`.
    func record(_ current: ZMQProxy.Statistics, previous: ZMQProxy.Statistics) {
        for (index, (now, before)) in zip(current.values, previous.values).enumerated() where now > before {
            counters[index].increment(by: Int64(now - before))
        }
    }
}
