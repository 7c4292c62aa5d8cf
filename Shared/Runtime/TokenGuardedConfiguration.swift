/// A service whose configuration is the shared runtime settings and its access tokens, nothing more (today the
/// assets and alerts services): `init(environment:)` comes from here, each service names itself and its port.
public protocol TokenGuardedConfiguration: Sendable {
    static var service: String { get }
    static var defaultHTTPPort: Int { get }
    var runtime: RuntimeConfiguration { get }
    init(runtime: RuntimeConfiguration, access: AccessTokens)
}

extension TokenGuardedConfiguration {
    public init(environment: Environment) throws {
        let runtime = try RuntimeConfiguration(service: Self.service, defaultHTTPPort: Self.defaultHTTPPort, environment: environment)
        self.init(runtime: runtime, access: try AccessTokens(environment: environment, dataDirectory: runtime.dataDirectory))
    }
}
