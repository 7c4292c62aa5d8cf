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
