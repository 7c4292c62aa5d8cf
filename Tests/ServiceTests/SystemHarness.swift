import AlertsService
import AssetsService
import BackupsService
import CollectorService
import DattoSandbox
import Foundation
import PSASandbox
import RulesService
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

/// The whole system in this process, on loopback: the collector harness (Datto sandbox, bus, collector) and the
/// services downstream of it — assets, backups, alerts, rules — with a PSA sandbox. Each service connects to the bus
/// as itself, so the bus's ownership table is enforced as in production.
@dynamicMemberLookup
struct SystemHarness {
    /// The collector side: its sandbox, bus, collector and their URLs are reached through this harness too.
    let base: CollectorHarness
    let assetsURL: String
    let backupsURL: String
    let backupsDatabase: String
    let alertsURL: String
    let rulesURL: String
    let psa: PSASandboxState
    let psaURL: String

    subscript<T>(dynamicMember path: KeyPath<CollectorHarness, T>) -> T { base[keyPath: path] }

    static func with(
        fleet: FleetConfiguration = FleetConfiguration(), sandboxWindow: Duration = .seconds(60), silence: SilenceSettings? = nil,
        // Generous by default: an interactive PSA call (Load choices, a test ticket) is not retried, and a loaded
        // machine can hold a sandbox answer past a second. Timeout tests ask for a short one.
        psaTimeout: Duration = .seconds(5),
        psaCompanies: Int = 0,
        // The sandboxes are on loopback; tests of the refusal itself turn this off.
        upstreams: UpstreamPolicy = UpstreamPolicy(allowPrivateAddresses: true),
        configure: @escaping (inout CollectorConfiguration) -> Void = { _ in },
        configureRules: (inout RulesConfiguration) -> Void = { _ in },
        _ body: (SystemHarness) async throws -> Void
    ) async throws {
        let options = CollectorHarness.Options(
            fleet: fleet, sandboxWindow: sandboxWindow, silence: silence, upstreams: upstreams, configure: configure)
        try await TestBus.with { bus in
            let (collectorServices, base) = try CollectorHarness.make(options, bus: bus)
            let sandbox = base.sandbox
            let token = CollectorHarness.token
            let access = CollectorHarness.access
            var runtime = RuntimeConfiguration(
                service: "assets", instance: "test", httpPort: try freePort(), bus: bus.configuration(as: BusOwnership.assets),
                dataDirectory: base.dataDirectory.path)
            runtime.delivery.heartbeatInterval = .milliseconds(300)
            let assetsApp = try AssetsService.buildApplication(
                AssetsConfiguration(runtime: runtime, access: access), logger: TestBus.quietLogger
            ).application
            let assetsURL = "http://127.0.0.1:\(runtime.httpPort)"

            var backupsRuntime = runtime
            backupsRuntime.service = "backups"
            backupsRuntime.bus = bus.configuration(as: BusOwnership.backups)
            backupsRuntime.httpPort = try freePort()
            // With silence settings, the check judges by Datto's (the sandbox's) clock, which tests move on by days.
            var backupsConfiguration =
                silence.map { settings in
                    BackupsConfiguration(runtime: backupsRuntime, silence: settings, clock: { sandbox.now })
                } ?? BackupsConfiguration(runtime: backupsRuntime)
            backupsConfiguration.access = access
            let backupsApp = try BackupsService.buildApplication(backupsConfiguration, logger: TestBus.quietLogger).application

            var alertsRuntime = runtime
            alertsRuntime.service = "alerts"
            alertsRuntime.bus = bus.configuration(as: BusOwnership.alerts)
            alertsRuntime.httpPort = try freePort()
            let alertsApp = try AlertsService.buildApplication(
                AlertsConfiguration(runtime: alertsRuntime, access: access), logger: TestBus.quietLogger
            ).application

            var rulesRuntime = runtime
            rulesRuntime.service = "rules"
            rulesRuntime.bus = bus.configuration(as: BusOwnership.rules)
            rulesRuntime.httpPort = try freePort()
            var rulesConfiguration = RulesConfiguration(
                runtime: rulesRuntime, adminToken: token,
                secretKeyFile: base.dataDirectory.appendingPathComponent("rules-secret.key").path, psaTimeout: psaTimeout,
                upstreams: upstreams)
            rulesConfiguration.readToken = CollectorHarness.readToken
            configureRules(&rulesConfiguration)
            let rulesApp = try RulesService.buildApplication(rulesConfiguration, logger: TestBus.quietLogger).application

            let psaPort = try freePort()
            let (psaApp, psa) = buildPSASandbox(port: psaPort, generatedCompanies: psaCompanies, logger: TestBus.quietLogger)
            let harness = SystemHarness(
                base: base, assetsURL: assetsURL, backupsURL: "http://127.0.0.1:\(backupsRuntime.httpPort)",
                backupsDatabase: backupsConfiguration.runtime.databasePath, alertsURL: "http://127.0.0.1:\(alertsRuntime.httpPort)",
                rulesURL: "http://127.0.0.1:\(rulesRuntime.httpPort)", psa: psa, psaURL: "http://127.0.0.1:\(psaPort)")
            try await CollectorHarness.run(collectorServices + [assetsApp, backupsApp, alertsApp, rulesApp, psaApp]) {
                try await base.waitUntilUp([harness.assetsURL, harness.backupsURL, harness.alertsURL, harness.rulesURL, harness.psaURL])
                try await body(harness)
            }
        }
    }

    // The collector harness's calls, on this one.

    func request(_ method: String, _ path: String, _ body: [String: Any]? = nil, token: String? = CollectorHarness.token) async throws
        -> (status: Int, body: String, json: [String: Any])
    {
        try await base.request(method, path, body, token: token)
    }

    func configure(
        publicKey: String = CollectorHarness.key.publicKey, secretKey: String = CollectorHarness.key.secretKey, region: String = "us"
    ) async throws {
        try await base.configure(publicKey: publicKey, secretKey: secretKey, region: region)
    }

    func queueFault(_ fault: SandboxFault) { base.queueFault(fault) }

    @discardableResult
    func sync(timeout: Duration = .seconds(60)) async throws -> DattoIntegrationView { try await base.sync(timeout: timeout) }

    func integration() async throws -> DattoIntegrationView? { try await base.integration() }
}
