import Hummingbird

/// What every service's `buildApplication(configuration, metrics:logger:)` returns: the application the executable
/// runs, the routes it serves (the OpenAPI test compares them with `docs/openapi/<service>.json`), and the one part
/// tests and benchmarks reach into (the service's `ReliableBus`, the collector's handle, the bus's proxy).
public struct BuiltService<Application: ApplicationProtocol, Parts> {
    public var application: Application
    public var routes: [String]
    public var parts: Parts

    public init(application: Application, routes: [String], parts: Parts) {
        self.application = application
        self.routes = routes
        self.parts = parts
    }
}
