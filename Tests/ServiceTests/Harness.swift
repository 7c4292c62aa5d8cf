import AlertsService
import AssetsService
import BackupsService
import CollectorService
import DattoSandbox
import Foundation
import Hummingbird
import Logging
import PSASandbox
import RulesService
import ServiceLifecycle
import Synchronization
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Log lines kept in memory, so a test can read everything a service logged.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger(_ label: String) -> Logger {
        Logger(label: label) { label in CapturingHandler(label: label, sink: self) }
    }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    struct CapturingHandler: LogHandler {
        let label: String
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            sink.append("\(event.level) \(label): \(event.message) \(merged)")
        }
    }
}

/// A Datto sandbox, a bus and a collector, all real and on loopback, in this process.
struct CollectorHarness {
    let sandbox: SandboxState
    let sandboxURL: String
    let collector: Collector
    let collectorURL: String
    let dataDirectory: URL
    let logs: CapturedLogs
    let bus: TestBus
    /// Set when the harness also runs vectis-assets and vectis-backups.
    let assetsURL: String?
    let backupsURL: String?
    let backupsDatabase: String?
    let alertsURL: String?
    let rulesURL: String?
    let psa: PSASandboxState?
    let psaURL: String?
    static let token = "test-admin-token"
    /// The read-only token the harness's assets, backups, alerts and rules accept on reads.
    static let readToken = "test-read-token-0123456789"
    static let access = AccessTokens(admin: token, read: readToken)
    static let key = DattoSandboxConfiguration.defaultKeys[0]

    static func with(
        fleet: FleetConfiguration = FleetConfiguration(), sandboxWindow: Duration = .seconds(60), pipeline: Bool = false,
        silence: SilenceSettings? = nil,
        // Generous by default: an interactive PSA call (Load choices, a test ticket) is not retried, and a loaded
        // machine can hold a sandbox answer past a second. Timeout tests ask for a short one.
        psaTimeout: Duration = .seconds(5),
        psaCompanies: Int = 0,
        // The sandboxes are on loopback; tests of the refusal itself turn this off.
        upstreams: UpstreamPolicy = UpstreamPolicy(allowPrivateAddresses: true),
        configure: (inout CollectorConfiguration) -> Void = { _ in },
        configureRules: (inout RulesConfiguration) -> Void = { _ in },
        _ body: (CollectorHarness) async throws -> Void
    ) async throws {
        try await TestBus.with { bus in
            let sandboxPort = try freePort()
            let (sandboxApp, sandbox) = buildDattoSandbox(
                DattoSandboxConfiguration(port: sandboxPort, fleet: fleet, rateWindow: sandboxWindow),
                logger: TestBus.quietLogger)
            let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-collector-\(UUID().uuidString)")
            let collectorPort = try freePort()
            var runtime = RuntimeConfiguration(
                service: "collector", instance: "test", httpPort: collectorPort, bus: bus.configuration(as: BusOwnership.collector),
                dataDirectory: dataDirectory.path)
            runtime.delivery.heartbeatInterval = .milliseconds(300)
            var regions = DattoRegions()
            regions.baseURLs["us"] = URL(string: "http://127.0.0.1:\(sandboxPort)/v1")!
            regions.baseURLs["eu"] = URL(string: "http://127.0.0.1:\(sandboxPort)/eu/v1")!
            var configuration = CollectorConfiguration(
                runtime: runtime, regions: regions, pollInterval: .seconds(3_600), requestTimeout: .seconds(5),
                retry: DattoRetryPolicy(maxAttempts: 3, backoffBase: .milliseconds(20), backoffCap: .milliseconds(100)),
                adminToken: token, secretKeyFile: dataDirectory.appendingPathComponent("secret.key").path)
            configuration.upstreams = upstreams
            configuration.readToken = readToken
            if silence != nil {
                // Observations carry Datto's (the sandbox's) time, which tests move on by days; polls only when asked.
                configuration.clock = { sandbox.now }
                configuration.pollInterval = .seconds(10 * 365 * 86_400)
            }
            configure(&configuration)
            let logs = CapturedLogs()
            let built = try buildApplication(configuration, metrics: ServiceMetrics(), logger: logs.logger("vectis-collector"))
            let (collectorApp, collector) = (built.application, built.parts)
            var services: [any Service] = [sandboxApp, collectorApp]
            var assetsURL: String?
            var backupsURL: String?
            var backupsDatabase: String?
            var alertsURL: String?
            var rulesURL: String?
            var psa: PSASandboxState?
            var psaURL: String?
            if pipeline {
                var assetsRuntime = runtime
                assetsRuntime.service = "assets"
                assetsRuntime.bus = bus.configuration(as: BusOwnership.assets)
                assetsRuntime.httpPort = try freePort()
                let assetsApp = try AssetsService.buildApplication(
                    AssetsConfiguration(runtime: assetsRuntime, access: Self.access), logger: TestBus.quietLogger
                ).application
                var backupsRuntime = runtime
                backupsRuntime.service = "backups"
                backupsRuntime.bus = bus.configuration(as: BusOwnership.backups)
                backupsRuntime.httpPort = try freePort()
                // With silence settings, the check judges by Datto's (the sandbox's) clock, which tests move on by days.
                var backupsConfiguration =
                    silence.map { settings in
                        BackupsConfiguration(runtime: backupsRuntime, silence: settings, clock: { sandbox.now })
                    } ?? BackupsConfiguration(runtime: backupsRuntime)
                backupsConfiguration.access = Self.access
                let backupsApp = try BackupsService.buildApplication(backupsConfiguration, logger: TestBus.quietLogger).application
                let path = backupsConfiguration.runtime.databasePath
                var alertsRuntime = runtime
                alertsRuntime.service = "alerts"
                alertsRuntime.bus = bus.configuration(as: BusOwnership.alerts)
                alertsRuntime.httpPort = try freePort()
                let alertsApp = try AlertsService.buildApplication(
                    AlertsConfiguration(runtime: alertsRuntime, access: Self.access), logger: TestBus.quietLogger
                ).application
                alertsURL = "http://127.0.0.1:\(alertsRuntime.httpPort)"
                var rulesRuntime = runtime
                rulesRuntime.service = "rules"
                rulesRuntime.bus = bus.configuration(as: BusOwnership.rules)
                rulesRuntime.httpPort = try freePort()
                var rulesConfiguration = RulesConfiguration(
                    runtime: rulesRuntime, adminToken: token, secretKeyFile: dataDirectory.appendingPathComponent("rules-secret.key").path,
                    psaTimeout: psaTimeout, upstreams: upstreams)
                rulesConfiguration.readToken = readToken
                configureRules(&rulesConfiguration)
                let rulesApp = try RulesService.buildApplication(rulesConfiguration, logger: TestBus.quietLogger).application
                rulesURL = "http://127.0.0.1:\(rulesRuntime.httpPort)"
                let psaPort = try freePort()
                let (psaApp, psaState) = buildPSASandbox(port: psaPort, generatedCompanies: psaCompanies, logger: TestBus.quietLogger)
                psa = psaState
                psaURL = "http://127.0.0.1:\(psaPort)"
                services += [assetsApp, backupsApp, alertsApp, rulesApp, psaApp]
                assetsURL = "http://127.0.0.1:\(assetsRuntime.httpPort)"
                backupsURL = "http://127.0.0.1:\(backupsRuntime.httpPort)"
                backupsDatabase = path
            }
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [], logger: TestBus.quietLogger)
            try await withRunning(group) {
                let harness = CollectorHarness(
                    sandbox: sandbox, sandboxURL: "http://127.0.0.1:\(sandboxPort)", collector: collector,
                    collectorURL: "http://127.0.0.1:\(collectorPort)", dataDirectory: dataDirectory, logs: logs, bus: bus,
                    assetsURL: assetsURL, backupsURL: backupsURL, backupsDatabase: backupsDatabase, alertsURL: alertsURL,
                    rulesURL: rulesURL, psa: psa, psaURL: psaURL)
                try await harness.waitUntilUp()
                try await body(harness)
            }
        }
    }

    func waitUntilUp() async throws {
        let urls = [collectorURL, sandboxURL] + [assetsURL, backupsURL, alertsURL, rulesURL, psaURL].compactMap { $0 }
        // Generous: the suite runs many of these at once beside process tests on two cores.
        var down = urls
        for _ in 0..<1_200 {
            down = []
            for url in urls where (try? await HTTP.send("GET", url + "/healthz").status) != 200 { down.append(url) }
            if down.isEmpty { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ProcessFailure("not answering /healthz: \(down.joined(separator: ", ")) (collector \(collectorURL), sandbox \(sandboxURL))")
    }

    /// A call to the collector's API with the admin token.
    func request(_ method: String, _ path: String, _ body: [String: Any]? = nil, token: String? = token) async throws
        -> (status: Int, body: String, json: [String: Any])
    {
        try await HTTP.send(method, collectorURL + path, body, bearer: token)
    }

    /// Saves the sandbox's keys and waits for the first sync, which saving starts.
    func configure(publicKey: String = key.publicKey, secretKey: String = key.secretKey, region: String = "us") async throws {
        let response = try await request(
            "PUT", "/v1/integrations/datto", ["publicKey": publicKey, "secretKey": secretKey, "region": region])
        #expect([200, 201].contains(response.status), "\(response.body)")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let current = try await integration(), current.lastSyncId != nil, ![.syncing, .neverSynced].contains(current.status) {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func queueFault(_ fault: SandboxFault) {
        sandbox.queue(fault)
    }

    /// Asks for a sync and waits until the integration reports it finished.
    @discardableResult
    func sync(timeout: Duration = .seconds(60)) async throws -> DattoIntegrationView {
        let answer = try await request("POST", "/v1/integrations/datto/sync")
        #expect(answer.status == 202, "\(answer.body)")
        let started = try HTTP.decode(DattoSyncStarted.self, answer, "POST /v1/integrations/datto/sync")
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let current = try await integration(), current.lastSyncId == started.syncId, current.status != .syncing { return current }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessFailure("sync did not finish within \(timeout)")
    }

    func integration() async throws -> DattoIntegrationView? {
        try HTTP.decode(DattoIntegrationList.self, try await request("GET", "/v1/integrations/datto"), "GET /v1/integrations/datto")
            .integrations.first
    }
}

enum HTTP {
    /// An answer decoded into its `VectisAPI` shape; a body of another shape fails the test, naming what came.
    static func decode<T: Decodable>(_ type: T.Type, _ answer: (status: Int, body: String, json: [String: Any]), _ what: String) throws -> T
    {
        do {
            return try APIJSON.decode(T.self, from: Data(answer.body.utf8))
        } catch {
            throw ProcessFailure("\(what) answered \(answer.status) \(answer.body.prefix(400)), not a \(T.self): \(error)")
        }
    }

    static func send(_ method: String, _ url: String, _ body: [String: Any]? = nil, bearer: String? = nil) async throws
        -> (status: Int, body: String, json: [String: Any])
    {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let text = String(decoding: data, as: UTF8.self)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, text, json)
    }

    /// The raw bytes of an answer (a PDF, an image).
    static func sendData(_ method: String, _ url: String, bearer: String? = nil) async throws -> (status: Int, data: Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 120
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}
