import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `/api/<service>/…` → the service's own API, so the browser talks to one origin and the services' addresses
/// stay configuration. The admin token the browser holds passes through; nothing is stored here.
struct ServiceProxy {
    let upstreams: [String: URL]
    let session: BoundedHTTPSession
    let timeout: Duration
    let logger: Logger
    let events: EventStreamProxy

    /// Headers the browser may send on, and the ones sent back.
    static let forwarded: [HTTPField.Name] = [.authorization, .contentType, .accept]

    func addRoutes(to router: Router<BasicRequestContext>) {
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("api/:service/**", method: method) { request, context in
                try await forward(request, context: context)
            }
        }
    }

    func forward(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let name = try context.parameters.require("service")
        guard let base = upstreams[name] else {
            return Response.problem(.notFound, "No service \(name): the console knows \(upstreams.keys.sorted().joined(separator: ", ")).")
        }
        let path = context.parameters.getCatchAll().joined(separator: "/")
        var target = base.absoluteString.hasSuffix("/") ? String(base.absoluteString.dropLast()) : base.absoluteString
        target += "/" + path
        if let query = request.uri.query, !query.isEmpty { target += "?" + query }
        guard let url = URL(string: target) else { return Response.problem(.badRequest, "That path cannot be forwarded.") }
        var upstream = URLRequest(url: url)
        upstream.httpMethod = request.method.rawValue
        upstream.timeoutInterval = Double(timeout.components.seconds)
        for name in Self.forwarded {
            if let value = request.headers[name] { upstream.setValue(value, forHTTPHeaderField: name.rawName) }
        }
        // A service's live stream is passed through as it arrives.
        if request.method == .get, path == "v1/events" {
            return await events.stream(url, authorization: request.headers[.authorization], service: name)
        }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        if body.readableBytes > 0 { upstream.httpBody = Data(buffer: body) }
        do {
            let (data, response) = try await session.data(for: upstream)
            guard let http = response as? HTTPURLResponse else {
                return Response.problem(.badGateway, "vectis-\(name) gave no HTTP answer.")
            }
            var headers = HTTPFields()
            headers[.contentType] = http.value(forHTTPHeaderField: "Content-Type") ?? "application/json"
            headers[.cacheControl] = "no-store"
            return Response(
                status: HTTPResponse.Status(code: http.statusCode), headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        } catch {
            logger.warning("a service did not answer the console", metadata: ["service": "\(name)", "url": "\(base)", "error": "\(error)"])
            return Response.problem(.badGateway, "vectis-\(name) is not answering at \(base.absoluteString).")
        }
    }
}
