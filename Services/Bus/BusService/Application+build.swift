import Hummingbird
import Logging
import VectisRuntime

/// Wires `vectis-bus` from its configuration; tests build exactly what the executable runs.
public func buildApplication(
    _ configuration: BusServerConfiguration, metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "vectis-bus")
) -> BuiltService<some ApplicationProtocol, BusProxy> {
    let proxy = BusProxy(configuration: configuration, metricsFactory: metrics.factory, logger: logger)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: ServiceApplication.makeRouter(), services: [proxy],
        checks: [ReadinessCheck("proxy") { proxy.isRunning }], logger: logger)
    return BuiltService(application: application, routes: routes, parts: proxy)
}
