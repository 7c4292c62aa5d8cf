import VectisRuntime

/// What `vectis-alerts` reads from the environment (`init(environment:)`): the shared settings and its tokens —
/// reads need the read-only or the admin token, changes the admin token.
public struct AlertsConfiguration: TokenGuardedConfiguration {
    public static let service = "alerts"
    public static let defaultHTTPPort = 8084
    public var runtime: RuntimeConfiguration
    public var access: AccessTokens

    public init(runtime: RuntimeConfiguration, access: AccessTokens = AccessTokens()) {
        (self.runtime, self.access) = (runtime, access)
    }
}
