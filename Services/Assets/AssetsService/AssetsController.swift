import Foundation
import Hummingbird
import VectisAPI
import VectisRuntime

/// `/v1/customers` and `/v1/devices`: the account hub's assets, one method per route.
struct AssetsController {
    let queries: AssetQueries
    /// Customer data: the read-only or the admin token.
    let access: AccessTokens

    typealias Context = BasicRequestContext

    func addRoutes(to router: Router<Context>) {
        let v1 = router.group("v1").add(middleware: BearerTokenMiddleware(reading: access))
        v1.get("customers", use: customers)
        v1.get("customers/:id", use: customer)
        v1.get("customers/:id/assets", use: assets)
        v1.get("devices/:serial", use: device)
    }

    @Sendable func customers(_ request: Request, _ context: Context) async throws -> Response {
        try Response.json(CustomerList(customers: try await queries.customers(tenant: request.uri.queryParameters.get("tenant"))))
    }

    @Sendable func customer(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let customer = try await queries.customer(id: id) else { return Response.problem(.notFound, "No customer \(id).") }
        return try Response.json(customer)
    }

    @Sendable func assets(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let assets = try await queries.assets(customerId: id) else { return Response.problem(.notFound, "No customer \(id).") }
        return try Response.json(assets)
    }

    @Sendable func device(_ request: Request, _ context: Context) async throws -> Response {
        let serial = try context.parameters.require("serial")
        let devices = try await queries.device(serialNumber: serial, tenant: request.uri.queryParameters.get("tenant"))
        switch devices.count {
        case 0: return Response.problem(.notFound, "No device \(serial).")
        case 1: return try Response.json(devices[0])
        default: return Response.problem(.badRequest, "Device \(serial) exists in several tenants; add ?tenant=.")
        }
    }
}
