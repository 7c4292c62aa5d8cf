import Metrics
import Synchronization

/// What the forwarder did, counted with atomics on its hot path and copied into metrics once a second
/// (`vectis_bus_forward_*`), so counting costs the loop almost nothing.
final class ForwarderStatistics: Sendable {
    let received = Atomic<Int>(0)
    let forwarded = Atomic<Int>(0)
    let forwardedBytes = Atomic<Int>(0)
    let disconnects = Atomic<Int>(0)
    private let drops = Mutex<[String: Int]>([:])
    private let published = Mutex<[String: Int]>([:])
    private let factory: any MetricsFactory
    private let counters: Mutex<[String: Counter]> = Mutex([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Identities are the allow-list's names (bounded), or "(none)" without CURVE.
    func dropped(identity: String, reason: BusForwarder.Violation) {
        drops.withLock { $0["\(identity.isEmpty ? "none" : identity)|\(reason.rawValue)", default: 0] += 1 }
    }

    /// Drops so far per "identity|reason".
    var droppedCounts: [String: Int] { drops.withLock { $0 } }

    /// Copies what grew since the last call into the metrics.
    func flush() {
        var current: [String: Int] = [
            "received": received.load(ordering: .relaxed), "forwarded": forwarded.load(ordering: .relaxed),
            "bytes": forwardedBytes.load(ordering: .relaxed), "disconnects": disconnects.load(ordering: .relaxed)
        ]
        for (key, value) in drops.withLock({ $0 }) { current["drop|" + key] = value }
        let previous = published.withLock { published in
            defer { published = current }
            return published
        }
        for (key, value) in current where value > previous[key, default: 0] {
            counter(key).increment(by: Int64(value - previous[key, default: 0]))
        }
    }

    private func counter(_ key: String) -> Counter {
        counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter: Counter
            switch key {
            case "received": counter = Counter(label: "vectis_bus_forward_received_total", factory: factory)
            case "forwarded": counter = Counter(label: "vectis_bus_forward_messages_total", factory: factory)
            case "bytes": counter = Counter(label: "vectis_bus_forward_bytes_total", factory: factory)
            case "disconnects": counter = Counter(label: "vectis_bus_peers_cut_off_total", factory: factory)
            default:
                let parts = key.split(separator: "|").map(String.init)
                counter = Counter(
                    label: "vectis_bus_forward_dropped_total",
                    dimensions: [("identity", parts[safe: 1] ?? "none"), ("reason", parts[safe: 2] ?? "unknown")],
                    factory: factory)
            }
            counters[key] = counter
            return counter
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
