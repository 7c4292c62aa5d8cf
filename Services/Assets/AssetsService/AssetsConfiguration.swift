import VectisRuntime

/// What `vectis-assets` reads from the environment (`init(environment:)`): the shared settings and its tokens —
/// customer data needs the read-only or the admin token.
public struct AssetsConfiguration: TokenGuardedConfiguration {
    public static let service = "assets"
    public static let defaultHTTPPort = 8082
    public var runtime: RuntimeConfiguration
    public var access: AccessTokens

    public init(runtime: RuntimeConfiguration, access: AccessTokens = AccessTokens()) {
        (self.runtime, self.access) = (runtime, access)
    }
}
