import Metrics
import Prometheus

/// One service's metrics registry, rendered on `GET /metrics` in the Prometheus text format.
///
/// Each service builds its own registry and passes its factory to whatever records metrics, so two services
/// built in one test process never mix their counters. `bootstrapGlobal()` also makes it the process default
/// for libraries that use the global `MetricsSystem`.
public struct ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Call once per process, from the executable.
    public func bootstrapGlobal() {
        MetricsSystem.bootstrap(factory)
    }

    public func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
