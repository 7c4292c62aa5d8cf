import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// How much of a service's HTTP server one client may hold: a connection idle this long is closed, a request
/// whose headers have not all arrived this long after the connection opened (or the last answer went out) is
/// closed (slow headers), at most `maxConnections` connections are accepted at once, and headers are bounded.
public struct HTTPLimits: Sendable, Equatable {
    public var idleTimeout: Duration
    public var headerTimeout: Duration
    public var maxConnections: Int
    public var maxHeaderBytes: Int
    /// Host names (besides loopback's) a request's `Host` may name: the names this service is published under.
    public var allowedHosts: Set<String>

    public init(
        idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10), maxConnections: Int = 256,
        maxHeaderBytes: Int = 32 * 1024, allowedHosts: Set<String> = []
    ) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.maxConnections = maxConnections
        self.maxHeaderBytes = maxHeaderBytes
        self.allowedHosts = allowedHosts
    }

    /// `VECTIS_HTTP_IDLE_TIMEOUT_SECONDS`, `VECTIS_HTTP_HEADER_TIMEOUT_SECONDS`, `VECTIS_HTTP_MAX_CONNECTIONS`,
    /// `VECTIS_HTTP_ALLOWED_HOSTS` (comma-separated names).
    public init(environment env: Environment) throws {
        self.init()
        idleTimeout = .seconds(try Self.positive(env, "VECTIS_HTTP_IDLE_TIMEOUT_SECONDS", 60))
        headerTimeout = .seconds(try Self.positive(env, "VECTIS_HTTP_HEADER_TIMEOUT_SECONDS", 10))
        maxConnections = try Self.positive(env, "VECTIS_HTTP_MAX_CONNECTIONS", 256)
        allowedHosts = Set(
            env.string("VECTIS_HTTP_ALLOWED_HOSTS", default: "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            }.filter { !$0.isEmpty })
    }

    static func positive(_ env: Environment, _ name: String, _ defaultValue: Int) throws -> Int {
        let value = try env.int(name, default: defaultValue)
        guard value > 0, value <= 1_000_000 else {
            throw ConfigurationError(variable: name, value: String(value), expected: "a whole number from 1 to 1000000")
        }
        return value
    }

    /// The HTTP/1 server with these limits.
    public var server: HTTPServerBuilder {
        let headerTimeout = TimeAmount.nanoseconds(
            headerTimeout.components.seconds * 1_000_000_000 + headerTimeout.components.attoseconds / 1_000_000_000)
        let idle = TimeAmount.seconds(idleTimeout.components.seconds)
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: maxHeaderBytes, maxHeaderListSize: maxHeaderBytes, maxHeaderFieldCount: 100)
        return .http1(
            configuration: HTTP1Channel.Configuration(
                additionalChannelHandlers: [RequestHeadTimeoutHandler(timeout: headerTimeout)], idleTimeout: idle,
                httpDecoderConfiguration: decoder))
    }
}

/// Closes a connection whose next request's headers have not arrived in time: armed when the connection opens and
/// when an answer has been written, disarmed by a request head. The idle timeout alone lets a client that sends
/// one byte now and then hold a connection (and with enough of them, every connection) for ever.
final class RequestHeadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context) }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}

/// Answers 421 to a request whose `Host` is not this service's: loopback names, the bound host, and the configured
/// public names. A web page the operator visits cannot then reach the service through a rebound DNS name.
/// Health, readiness and metrics answer to any host (probes and scrapers use addresses).
public struct HostAllowListResponder<Inner: HTTPResponder>: HTTPResponder {
    public typealias Context = Inner.Context
    let inner: Inner
    let allowed: Set<String>

    public init(_ inner: Inner, limits: HTTPLimits, boundHost: String) {
        self.inner = inner
        allowed = limits.allowedHosts.union(["localhost", "127.0.0.1", "::1", boundHost.lowercased()])
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        if ["/healthz", "/readyz", "/metrics"].contains(request.uri.path) { return try await inner.respond(to: request, context: context) }
        guard let authority = request.head.authority, Self.admits(authority, allowed) else {
            return Response.problem(
                .misdirectedRequest,
                "This service does not answer to that host name; add it to VECTIS_HTTP_ALLOWED_HOSTS to publish it under it.")
        }
        return try await inner.respond(to: request, context: context)
    }

    /// Whether `authority` (`host`, `host:port`, `[v6]:port`) names an allowed host.
    static func admits(_ authority: String, _ allowed: Set<String>) -> Bool {
        let lowered = authority.lowercased()
        let host: Substring
        if lowered.hasPrefix("["), let end = lowered.firstIndex(of: "]") {
            host = lowered[lowered.index(after: lowered.startIndex)..<end]
        } else {
            host = lowered.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        return allowed.contains(String(host))
    }
}
