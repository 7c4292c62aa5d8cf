import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The HTTP side every service shares: `/healthz`, `/readyz`, `/metrics`, plus the service's own routes,
/// with the service's long-running parts run beside the server and stopped together on SIGTERM.
public enum ServiceApplication {
    /// A router whose every route answers errors as `{"error": …}`; services add their controllers to it.
    public static func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        return router
    }

    /// The application, and its routes as `GET /v1/alerts/{id}` lines (checked against `docs/openapi/` by a test).
    public static func build(
        configuration: RuntimeConfiguration, metrics: ServiceMetrics, router: Router<BasicRequestContext>,
        services: [any Service], checks: [ReadinessCheck], logger: Logger
    ) -> (application: some ApplicationProtocol, routes: [String]) {
        HealthController(service: configuration.service, metrics: metrics, checks: checks).addRoutes(to: router)
        let routes = router.routes.map { "\($0.method) \($0.path)" }.sorted()
        let limits = configuration.http
        var application = Application(
            responder: HostAllowListResponder(
                JSONErrorResponder(router.buildResponder(), metrics: metrics.factory, logger: logger), limits: limits,
                boundHost: configuration.httpHost),
            server: limits.server,
            configuration: .init(
                address: .hostname(configuration.httpHost, port: configuration.httpPort),
                serverName: "vectis-\(configuration.service)",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
            logger: logger)
        application.addServices(services)
        return (application, routes)
    }
}
