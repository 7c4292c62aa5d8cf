import Hummingbird
import Logging

/// Wires the Datto sandbox: the emulated API plus its scenario controls.
public func buildDattoSandbox(
    _ configuration: DattoSandboxConfiguration, logger: Logger = Logger(label: "vectis-sandbox-datto")
) -> (application: some ApplicationProtocol, state: SandboxState) {
    let state = SandboxState(configuration: configuration)
    let router = Router()
    router.get("healthz") { _, _ in Response(status: .ok) }
    DattoAPIController(state: state).addRoutes(to: router)
    ScenarioController(state: state).addRoutes(to: router)
    let application = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "vectis-sandbox-datto"),
        logger: logger)
    return (application, state)
}
