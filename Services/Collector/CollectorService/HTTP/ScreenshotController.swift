import Foundation
import Hummingbird
import VectisRuntime

/// `GET /v1/screenshots/{serial}/{volume}[?at=<epoch>][&tenant=]`: an agent's latest screenshot verification image, fetched from Datto
/// through the collector (the only part that holds the Datto key) and kept a few minutes. Customer data: the read
/// or admin token.
struct ScreenshotController {
    let repository: any IntegrationRepository
    let poller: DattoPoller
    let cache: ScreenshotCache

    typealias Context = BasicRequestContext

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(":serial/:volume", use: latest)
    }

    @Sendable func latest(_ request: Request, _ context: Context) async throws -> Response {
        let serial = try context.parameters.require("serial")
        let volume = try context.parameters.require("volume")
        guard Self.isIdentifier(serial), Self.isIdentifier(volume) else {
            return Response.problem(.badRequest, "serial and volume are Datto identifiers: letters, digits, dot, dash, underscore.")
        }
        var tenant = request.uri.queryParameters.get("tenant")
        if tenant == nil { tenant = try await repository.defaultTenant() }
        guard let tenant, let credentials = try await repository.credentials(tenant: tenant), let client = poller.client(for: credentials)
        else { return Response.problem(.notFound, "No Datto integration is configured for that tenant.") }
        // `at` (the verification's time, as the hub shows it) makes a newer verification a new entry.
        let at = request.uri.queryParameters.get("at").flatMap { Int64($0) } ?? 0
        let key = "\(tenant)/\(serial)/\(volume)/\(at)"
        let image: (data: Data, contentType: String)
        if let cached = await cache.get(key) {
            image = cached
        } else {
            do {
                image = try await client.latestScreenshot(serialNumber: serial, volume: volume)
            } catch let error as DattoError {
                // Datto's failure, in Datto's words: 424 (the request depended on Datto's), not a server error of ours.
                return Response.problem(
                    error.kind == .notFound ? .notFound : .init(code: 424, reasonPhrase: "Failed Dependency"), error.message)
            }
            await cache.put(key, image)
        }
        return Response(
            status: .ok,
            headers: [.contentType: image.contentType, .cacheControl: "private, max-age=300", .contentDisposition: "inline"],
            body: .init(byteBuffer: ByteBuffer(bytes: image.data)))
    }

    static func isIdentifier(_ text: String) -> Bool { text.wholeMatch(of: /[A-Za-z0-9._-]{1,128}/) != nil && text != "." && text != ".." }
}

/// The latest images, a few minutes each, bounded in count and bytes: a page of cards asks for each once.
actor ScreenshotCache {
    let lifetime: Duration
    let maxEntries: Int
    let maxBytes: Int
    private var entries: [String: (image: (data: Data, contentType: String), at: ContinuousClock.Instant)] = [:]

    init(lifetime: Duration = .seconds(600), maxEntries: Int = 200, maxBytes: Int = 64 << 20) {
        (self.lifetime, self.maxEntries, self.maxBytes) = (lifetime, maxEntries, maxBytes)
    }

    func get(_ key: String) -> (data: Data, contentType: String)? {
        guard let entry = entries[key], ContinuousClock.now - entry.at < lifetime else { return nil }
        return entry.image
    }

    func put(_ key: String, _ image: (data: Data, contentType: String)) {
        let now = ContinuousClock.now
        entries = entries.filter { now - $0.value.at < lifetime }
        entries[key] = (image, now)
        // Oldest out first, until within both bounds.
        while entries.count > maxEntries || entries.values.reduce(0, { $0 + $1.image.data.count }) > maxBytes,
            let oldest = entries.min(by: { $0.value.at < $1.value.at })?.key
        {
            entries[oldest] = nil
        }
    }
}
