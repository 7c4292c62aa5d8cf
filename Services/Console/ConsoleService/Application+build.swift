import Foundation
import Hummingbird
import Logging
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Everything `vectis-console` runs, wired from its configuration; tests build exactly this: the console's
/// files at `/`, the services' APIs under `/api/<service>/…`, customers' monthly reports under
/// `/v1/customers/{id}/report`, and health, readiness and metrics.
public func buildApplication(
    _ configuration: ConsoleConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "vectis-console")
) throws -> BuiltService<some ApplicationProtocol, Void> {
    let sessionConfiguration = URLSessionConfiguration.ephemeral
    sessionConfiguration.timeoutIntervalForRequest = Double(configuration.timeout.components.seconds)
    let session = BoundedHTTPSession(configuration: sessionConfiguration, maxResponseBytes: 16 << 20)
    let proxy = ServiceProxy(
        upstreams: configuration.upstreams, session: session, timeout: configuration.timeout, logger: logger,
        events: EventStreamProxy(logger: logger))
    let router = ServiceApplication.makeRouter()
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: FileMiddleware(configuration.webDirectory, searchForIndexHtml: true, logger: logger))
    proxy.addRoutes(to: router)
    ReportController(
        upstreams: configuration.upstreams, session: session, timeout: configuration.timeout, branding: configuration.branding,
        chromium: configuration.chromium, logger: logger
    ).addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: router, services: [], checks: [], logger: logger)
    return BuiltService(application: application, routes: routes, parts: ())
}
