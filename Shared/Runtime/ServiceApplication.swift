import Hummingbird
import Logging
import ServiceLifecycle

/// The HTTP side every service shares: `/healthz`, `/readyz`, `/metrics`, plus the service's own routes,
/// with the service's long-running parts run beside the server and stopped together on SIGTERM.
public enum ServiceApplication {
    public static func build(
        configuration: RuntimeConfiguration, metrics: ServiceMetrics, router: Router<BasicRequestContext>,
        services: [any Service], checks: [ReadinessCheck], logger: Logger
    ) -> some ApplicationProtocol {
        HealthController(service: configuration.service, metrics: metrics, checks: checks).addRoutes(to: router)
        var application = Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort),
                serverName: "vectis-\(configuration.service)"),
            logger: logger)
        application.addServices(services)
        return application
    }
}
