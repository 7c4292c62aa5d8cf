import Hummingbird
import Logging
import Metrics

/// Wraps a service's router so every error leaves as `{"error": …}`: the bare 404 of an unknown route gets a
/// body, and anything a handler throws that is not an HTTP error is logged, counted in
/// `vectis_http_server_errors_total` and answered 500 without internals.
public struct JSONErrorResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    public typealias Context = BasicRequestContext
    let inner: Inner
    let logger: Logger
    let serverErrors: Counter

    public init(_ inner: Inner, metrics: any MetricsFactory, logger: Logger) {
        self.inner = inner
        self.logger = logger
        serverErrors = Counter(label: "vectis_http_server_errors_total", factory: metrics)
    }

    public func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        do {
            let response = try await inner.respond(to: request, context: context)
            // The router answers an unknown route with a bare 404: give it a body like every other error.
            guard response.status.code >= 400, response.headers[.contentType] == nil else { return response }
            return Response.problem(response.status, HTTPErrorText.message(for: response.status, request))
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            return JSONErrorMiddleware<BasicRequestContext>.problem(error, request)
        } catch {
            serverErrors.increment()
            logger.error(
                "request failed", metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            return Response.problem(
                .internalServerError, "The service failed to handle \(request.method) \(request.uri.path); its log says why.")
        }
    }
}

/// Hummingbird's own refusals inside a route (body too large, body not decodable, `HTTPError`s) in the house
/// format, with the framework's message when it has one. Installed on every service's router by
/// `ServiceApplication.makeRouter()`, before any route, so it wraps them all.
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError where error.status.code < 500 {
            return Self.problem(error, request)
        }
    }

    static func problem(_ error: any HTTPResponseError, _ request: Request) -> Response {
        let http = error as? HTTPError
        var response = Response.problem(
            error.status, http?.body ?? HTTPErrorText.message(for: error.status, request))
        for field in http?.headers ?? [:] where response.headers[field.name] == nil { response.headers.append(field) }
        return response
    }
}

/// What an error status says when the framework gave no message of its own.
enum HTTPErrorText {
    static func message(for status: HTTPResponse.Status, _ request: Request) -> String {
        switch status.code {
        case 404: "No such endpoint: \(request.method) \(request.uri.path)."
        case 405: "\(request.method) is not allowed on \(request.uri.path)."
        case 413: "The request body is too large."
        default: status.reasonPhrase
        }
    }
}
