import VectisRuntime

/// What `vectis-assets` reads from the environment.
public struct AssetsConfiguration: Sendable {
    public var runtime: RuntimeConfiguration
    /// Customer data: the read-only or the admin token.
    public var access: AccessTokens

    public init(runtime: RuntimeConfiguration, access: AccessTokens = AccessTokens()) {
        self.runtime = runtime
        self.access = access
    }

    public init(environment: Environment) throws {
        let runtime = try RuntimeConfiguration(service: "assets", defaultHTTPPort: 8082, environment: environment)
        self.init(runtime: runtime, access: try AccessTokens(environment: environment, dataDirectory: runtime.dataDirectory))
    }
}
