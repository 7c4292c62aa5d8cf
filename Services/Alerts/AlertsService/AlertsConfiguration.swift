import VectisRuntime

/// What `vectis-alerts` reads from the environment.
public struct AlertsConfiguration: Sendable {
    public var runtime: RuntimeConfiguration
    /// Reads need the read-only or the admin token; changes the admin token.
    public var access: AccessTokens

    public init(runtime: RuntimeConfiguration, access: AccessTokens = AccessTokens()) {
        self.runtime = runtime
        self.access = access
    }

    public init(environment: Environment) throws {
        let runtime = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: environment)
        self.init(runtime: runtime, access: try AccessTokens(environment: environment, dataDirectory: runtime.dataDirectory))
    }
}
