import Foundation
import Hummingbird
import Logging

/// Wires the PSA sandbox: ConnectWise under `/cw`, Autotask under `/at`, HaloPSA under `/halo`, and
/// `/_sandbox` to inspect tickets and inject faults. A development and test tool, not any vendor's API.
public func buildPSASandbox(
    host: String = "127.0.0.1", port: Int = 9082, credentials: PSASandboxCredentials = PSASandboxCredentials(),
    generatedCompanies: Int = 0, logger: Logger = Logger(label: "vectis-sandbox-psa")
) -> (application: some ApplicationProtocol, state: PSASandboxState) {
    let state = PSASandboxState(credentials: credentials, generatedCompanies: generatedCompanies)
    let router = Router()
    router.get("healthz") { _, _ in Response(status: .ok) }
    ConnectWiseController(state: state).addRoutes(to: router)
    AutotaskController(state: state).addRoutes(to: router)
    HaloController(state: state).addRoutes(to: router)
    router.get("_sandbox/tickets") { _, _ in
        let data = (try? JSONEncoder().encode(state.allTickets)) ?? Data("[]".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    // A technician closing, reopening, merging or deleting a ticket in the PSA's own screens.
    router.post("_sandbox/tickets/:psa/:id/:action") { _, context in
        guard let action = TechnicianAction(rawValue: try context.parameters.require("action")),
            let id = Int(try context.parameters.require("id")),
            state.technician(action, psa: try context.parameters.require("psa"), id: id)
        else { return Response(status: .notFound) }
        return Response(status: .noContent)
    }
    // Requests per PSA and method, e.g. `?psa=halopsa&method=GET`: the share of a budget a client spends.
    router.get("_sandbox/requests") { request, _ in
        let parameters = request.uri.queryParameters
        let count = state.requestCount(psa: parameters.get("psa") ?? "", method: parameters.get("method") ?? "GET")
        return Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"count":\#(count)}"#)))
    }
    router.post("_sandbox/faults") { request, context in
        state.queue(try await request.decode(as: PSAFault.self, context: context))
        return Response(status: .noContent)
    }
    router.delete("_sandbox/faults") { _, _ in
        state.clearFaults()
        return Response(status: .noContent)
    }
    let application = Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: "vectis-sandbox-psa"),
        logger: logger)
    return (application, state)
}
