import BackupsService
import CollectorService
import DattoSandbox
import Foundation
import ServiceLifecycle
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

/// A Datto sandbox, a bus and a collector, all real and on loopback, in this process. `SystemHarness` adds the
/// services downstream of the collector.
struct CollectorHarness {
    let sandbox: SandboxState
    let sandboxURL: String
    let collector: Collector
    let collectorURL: String
    let dataDirectory: URL
    let logs: CapturedLogs
    let bus: TestBus
    static let token = "test-admin-token"
    /// The read-only token the harness's assets, backups, alerts and rules accept on reads.
    static let readToken = "test-read-token-0123456789"
    static let access = AccessTokens(admin: token, read: readToken)
    static let key = DattoSandboxConfiguration.defaultKeys[0]

    /// What a collector harness is started with.
    struct Options {
        var fleet = FleetConfiguration()
        var sandboxWindow: Duration = .seconds(60)
        var silence: SilenceSettings?
        // The sandboxes are on loopback; tests of the refusal itself turn this off.
        var upstreams = UpstreamPolicy(allowPrivateAddresses: true)
        var configure: (inout CollectorConfiguration) -> Void = { _ in }
    }

    static func with(
        fleet: FleetConfiguration = FleetConfiguration(), sandboxWindow: Duration = .seconds(60),
        upstreams: UpstreamPolicy = UpstreamPolicy(allowPrivateAddresses: true),
        configure: @escaping (inout CollectorConfiguration) -> Void = { _ in },
        _ body: (CollectorHarness) async throws -> Void
    ) async throws {
        let options = Options(fleet: fleet, sandboxWindow: sandboxWindow, upstreams: upstreams, configure: configure)
        try await TestBus.with { bus in
            let (services, harness) = try make(options, bus: bus)
            try await run(services) {
                try await harness.waitUntilUp([])
                try await body(harness)
            }
        }
    }

    /// The sandbox and the collector as services, not started, and the harness that reaches them.
    static func make(_ options: Options, bus: TestBus) throws -> (services: [any Service], harness: CollectorHarness) {
        let sandboxPort = try freePort()
        let (sandboxApp, sandbox) = buildDattoSandbox(
            DattoSandboxConfiguration(port: sandboxPort, fleet: options.fleet, rateWindow: options.sandboxWindow),
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
        configuration.upstreams = options.upstreams
        configuration.readToken = readToken
        if options.silence != nil {
            // Observations carry Datto's (the sandbox's) time, which tests move on by days; polls only when asked.
            configuration.clock = { sandbox.now }
            configuration.pollInterval = .seconds(10 * 365 * 86_400)
        }
        options.configure(&configuration)
        let logs = CapturedLogs()
        let built = try buildApplication(configuration, metrics: ServiceMetrics(), logger: logs.logger("vectis-collector"))
        let harness = CollectorHarness(
            sandbox: sandbox, sandboxURL: "http://127.0.0.1:\(sandboxPort)", collector: built.parts,
            collectorURL: "http://127.0.0.1:\(collectorPort)", dataDirectory: dataDirectory, logs: logs, bus: bus)
        return ([sandboxApp, built.application], harness)
    }

    /// Runs `services` in one group for as long as `body` runs.
    static func run(_ services: [any Service], _ body: () async throws -> Void) async throws {
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [], logger: TestBus.quietLogger)
        try await withRunning(group, body)
    }

    /// Waits until the collector, the sandbox and `others` answer `/healthz`.
    func waitUntilUp(_ others: [String]) async throws {
        let urls = [collectorURL, sandboxURL] + others
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
