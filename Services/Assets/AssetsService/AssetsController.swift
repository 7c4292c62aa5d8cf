import Foundation
import Hummingbird
import VectisRuntime

/// `/v1/customers` and `/v1/devices`: the account hub's assets.
struct AssetsController {
    let queries: AssetQueries
    /// Customer data: the read-only or the admin token.
    let access: AccessTokens

    struct CustomerList: Encodable { var customers: [CustomerView] }
    struct DeviceList: Encodable { var devices: [DeviceView] }

    func addRoutes(to router: Router<BasicRequestContext>) {
        let v1 = router.group("v1").add(middleware: BearerTokenMiddleware(reading: access))
        v1.get("customers") { request, _ in
            try Response.json(CustomerList(customers: try await queries.customers(tenant: request.uri.queryParameters.get("tenant"))))
        }
        v1.get("customers/:id") { _, context in
            let id = try context.parameters.require("id")
            guard let customer = try await queries.customer(id: id) else { return Response.problem(.notFound, "No customer \(id).") }
            return try Response.json(customer)
        }
        v1.get("customers/:id/assets") { _, context in
            let id = try context.parameters.require("id")
            guard let assets = try await queries.assets(customerId: id) else { return Response.problem(.notFound, "No customer \(id).") }
            return try Response.json(assets)
        }
        v1.get("devices/:serial") { request, context in
            let serial = try context.parameters.require("serial")
            let devices = try await queries.device(serialNumber: serial, tenant: request.uri.queryParameters.get("tenant"))
            switch devices.count {
            case 0: return Response.problem(.notFound, "No device \(serial).")
            case 1: return try Response.json(devices[0])
            default: return Response.problem(.badRequest, "Device \(serial) exists in several tenants; add ?tenant=.")
            }
        }
    }
}
