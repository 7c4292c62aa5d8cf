import Foundation
import Hummingbird
import VectisAPI
import VectisRuntime

/// `/v1/integrations/datto`: configure, test, sync and read the status of Datto integrations, one method per route.
struct IntegrationController {
    let repository: any IntegrationRepository
    let poller: DattoPoller

    typealias Context = BasicRequestContext

    func addRoutes(to group: RouterGroup<Context>) {
        group.get(use: list)
        group.put(use: save)
        group.post("test", use: test)
        group.post("sync", use: sync)
    }

    @Sendable func list(_ request: Request, _ context: Context) async throws -> Response {
        try Response.json(
            DattoIntegrationList(
                integrations: try await repository.all().map { integration in
                    var view = DattoIntegrationView(integration)
                    view.progress = poller.progress(tenant: integration.tenant)
                    return view
                }))
    }

    @Sendable func save(_ request: Request, _ context: Context) async throws -> Response {
        let settings = try await decode(DattoSettings.self, request, context)
        let tenant = settings.tenant?.trimmingCharacters(in: .whitespaces).nonEmpty ?? "default"
        let publicKey = settings.publicKey?.trimmingCharacters(in: .whitespaces) ?? ""
        let region = settings.region?.lowercased().trimmingCharacters(in: .whitespaces) ?? ""
        guard !publicKey.isEmpty else { return try problem("publicKey is required: paste the Partner API public key.") }
        guard DattoRegions.known.contains(region) else { return try problem("region must be us or eu.") }
        guard tenant.wholeMatch(of: /[A-Za-z0-9._-]{1,64}/) != nil else {
            return try problem("tenant may use letters, digits, dot, dash and underscore (at most 64).")
        }
        let secret = settings.secretKey?.trimmingCharacters(in: .whitespacesAndNewlines).nonEmpty
        let existing = try await repository.find(tenant: tenant)
        guard secret != nil || existing != nil else {
            return try problem("secretKey is required the first time: paste the secret key Datto showed once.")
        }
        try await repository.save(
            tenant: tenant, publicKey: publicKey, secretKey: secret, region: region, makeDefault: settings.makeDefault ?? false)
        guard let saved = try await repository.find(tenant: tenant) else {
            throw HTTPError(.internalServerError, message: "The integration was saved but cannot be read back.")
        }
        return try Response.json(DattoIntegrationView(saved), status: existing == nil ? .created : .ok)
    }

    @Sendable func test(_ request: Request, _ context: Context) async throws -> Response {
        let settings = try await decodeOptional(DattoSettings.self, request, context)
        let tenant = try await resolveTenant(settings?.tenant)
        var credentials = try await tenant.asyncFlatMap { try await repository.credentials(tenant: $0) }
        if let publicKey = settings?.publicKey?.nonEmpty { credentials?.publicKey = publicKey }
        if let secret = settings?.secretKey?.nonEmpty { credentials?.secretKey = secret }
        if let region = settings?.region?.nonEmpty { credentials?.region = region.lowercased() }
        if credentials == nil, let publicKey = settings?.publicKey?.nonEmpty, let secret = settings?.secretKey?.nonEmpty {
            credentials = DattoCredentials(publicKey: publicKey, secretKey: secret, region: settings?.region?.lowercased() ?? "us")
        }
        guard let credentials else {
            return try problem("Nothing to test: submit publicKey, secretKey and region, or save an integration first.")
        }
        return try Response.json(await poller.test(credentials))
    }

    @Sendable func sync(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await decodeOptional(DattoSyncRequest.self, request, context)
        guard let tenant = try await resolveTenant(body?.tenant), try await repository.find(tenant: tenant) != nil else {
            return Response.problem(.notFound, "No Datto integration is configured for that tenant.")
        }
        return try Response.json(DattoSyncStarted(tenant: tenant, syncId: poller.requestSync(tenant: tenant)), status: .accepted)
    }

    private func resolveTenant(_ tenant: String?) async throws -> String? {
        if let tenant = tenant?.nonEmpty { return tenant }
        return try await repository.defaultTenant()
    }

    private func problem(_ message: String) throws -> Response {
        Response.problem(.badRequest, message)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BasicRequestContext) async throws -> T {
        do {
            return try await request.decode(as: type, context: context)
        } catch {
            throw HTTPError(.badRequest, message: "The body must be a JSON object (\(error)).")
        }
    }

    private func decodeOptional<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BasicRequestContext) async throws -> T? {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        guard body.readableBytes > 0 else { return nil }
        do {
            return try JSONDecoder().decode(type, from: Data(buffer: body))
        } catch {
            throw HTTPError(.badRequest, message: "The body must be a JSON object.")
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
