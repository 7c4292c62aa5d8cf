import Hummingbird
import Logging
import VectisRuntime

/// Wires `vectis-bus` from its configuration; tests build exactly what the executable runs.
public func buildApplication(
    _ configuration: BusServerConfiguration, metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "vectis-bus")
) -> (application: some ApplicationProtocol, proxy: BusProxy, routes: [String]) {
    let proxy = BusProxy(configuration: configuration, metricsFactory: metrics.factory, logger: logger)
    let runtime = RuntimeConfiguration(
        service: "bus", httpHost: configuration.httpHost, httpPort: configuration.httpPort)
    let (application, routes) = ServiceApplication.build(
        configuration: runtime, metrics: metrics, router: ServiceApplication.makeRouter(), services: [proxy],
        checks: [ReadinessCheck("proxy") { proxy.isRunning }], logger: logger)
    return (application, proxy, routes)
}
