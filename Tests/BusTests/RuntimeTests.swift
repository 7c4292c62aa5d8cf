import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VectisBus
import VectisDelivery
import VectisRuntime
import VectisStorage
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Service runtime")
struct RuntimeTests {
    struct Broken: Error {}

    @Test("every HTTP error is JSON: unknown routes, oversized and undecodable bodies, and a failing handler (logged, counted)")
    func errorsAreJSON() async throws {
        struct Body: Decodable { var name: String }
        let router = ServiceApplication.makeRouter()
        router.get("v1/broken") { _, _ -> Response in throw Broken() }
        router.post("v1/echo") { request, context -> Response in
            let body = try await request.decode(as: Body.self, context: context)
            return try Response.json(["name": body.name])
        }
        let metrics = ServiceMetrics()
        let (application, routes) = ServiceApplication.build(
            configuration: RuntimeConfiguration(service: "probe", httpPort: 0), metrics: metrics, router: router, services: [],
            checks: [], logger: TestBus.quietLogger)
        #expect(routes == ["GET /healthz", "GET /metrics", "GET /readyz", "GET /v1/broken", "POST /v1/echo"])
        try await application.test(.router) { client in
            func error(_ response: TestResponse) throws -> String {
                #expect(response.headers[.contentType] == "application/json", "\(response.status)")
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                return try #require(object?["error"] as? String)
            }
            let missing = try await client.execute(uri: "/v1/nothing", method: .get)
            #expect(missing.status == .notFound)
            #expect(try error(missing) == "No such endpoint: GET /v1/nothing.")
            let broken = try await client.execute(uri: "/v1/broken", method: .get)
            #expect(broken.status == .internalServerError)
            #expect(try error(broken) == "The service failed to handle GET /v1/broken; its log says why.")
            let garbled = try await client.execute(uri: "/v1/echo", method: .post, body: ByteBuffer(string: "{\"name\": 7"))
            #expect(garbled.status == .badRequest)
            #expect(!(try error(garbled)).isEmpty)
            let huge = try await client.execute(
                uri: "/v1/echo", method: .post, body: ByteBuffer(repeating: UInt8(ascii: " "), count: 3 << 20))
            #expect(huge.status == .contentTooLarge)
            #expect(try error(huge) == "The request body is too large.")
            let page = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(page.contains("vectis_http_server_errors_total 1"), "\(page)")
        }
    }

    @Test("configuration comes from VECTIS_* variables over local defaults")
    func environmentOverDefaults() throws {
        let defaults = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: Environment.development([:]))
        #expect(defaults.httpPort == 8084)
        #expect(defaults.bus.publishEndpoint == "tcp://127.0.0.1:5550")
        #expect(defaults.logFormat == .human)

        let configured = try RuntimeConfiguration(
            service: "alerts", defaultHTTPPort: 8084,
            environment: Environment.development([
                "VECTIS_HTTP_PORT": "9000", "VECTIS_INSTANCE": "replica-2", "VECTIS_LOG_FORMAT": "json",
                "VECTIS_BUS_SUBSCRIBE": "tcp://bus:5551", "VECTIS_LOG_LEVEL": "debug"
            ]))
        #expect(configured.httpPort == 9000)
        #expect(configured.stream == "alerts/replica-2")
        #expect(configured.logFormat == .json)
        #expect(configured.logLevel == .debug)
        #expect(configured.bus.subscribeEndpoint == "tcp://bus:5551")
    }

    @Test(
        "VECTIS_SHARD: i/n, or ordinal/n from a StatefulSet pod's name; anything else refused with the variable's name",
        arguments: [
            ("2/3", "anything", 2, 3), ("ordinal/2", "backups-0", 1, 2), ("ordinal/2", "backups-1", 2, 2),
            ("ordinal/4", "vectis-backups-3", 4, 4), ("1/1", "x", 1, 1)
        ])
    func shards(text: String, hostname: String, index: Int, count: Int) throws {
        let shard = try RuntimeConfiguration(
            service: "backups", defaultHTTPPort: 8083, environment: Environment.development(["VECTIS_SHARD": text, "HOSTNAME": hostname])
        ).shard
        #expect(shard?.index == index && shard?.count == count)
    }

    @Test(
        "VECTIS_SHARD values that name no replica are refused",
        arguments: [
            ("0/2", "x"), ("3/2", "x"), ("ordinal/2", "backups-2"), ("ordinal/2", "backups"), ("1/65", "x"), ("a/b", "x"), ("1/2/3", "x")
        ])
    func badShards(text: String, hostname: String) {
        #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration(
                service: "backups", defaultHTTPPort: 8083,
                environment: Environment.development(["VECTIS_SHARD": text, "HOSTNAME": hostname]))
        }
    }

    @Test("VECTIS_BUS_BUNDLE_EVENTS sets the events per bus message; 0, 257 and words are refused")
    func bundleEvents() throws {
        func events(_ text: String?) throws -> Int {
            try RuntimeConfiguration(
                service: "backups", defaultHTTPPort: 8083,
                environment: Environment.development(text.map { ["VECTIS_BUS_BUNDLE_EVENTS": $0] } ?? [:])
            ).delivery.bundleEvents
        }
        #expect(try events(nil) == BusBundle.defaultEvents)
        #expect(try events("1") == 1)
        #expect(try events("256") == 256)
        for bad in ["0", "-1", "257", "many", "99999999999999999999"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try events(bad) }
        }
    }

    @Test("secure by default: without bus keys, and without VECTIS_BUS_INSECURE, a service refuses to start and says what to set")
    func busKeysRequired() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-nokeys-\(UUID().uuidString)").path
        var error: ConfigurationError?
        do {
            _ = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: Environment(["VECTIS_DATA_DIR": empty]))
        } catch let caught as ConfigurationError {
            error = caught
        }
        #expect(error?.variable == "VECTIS_BUS_KEY_DIR")
        #expect(error?.description.contains("vectis keys init") == true)
        // With a key folder, the service's own key is used.
        let keys = empty + "/bus-keys"
        try BusKeyDirectory.create(at: keys)
        let configuration = try RuntimeConfiguration(
            service: "alerts", defaultHTTPPort: 8084, environment: Environment(["VECTIS_DATA_DIR": empty]))
        #expect(
            configuration.bus.curve?.publicKey
                == (try? String(contentsOfFile: keys + "/alerts.public", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines))
        let attributes = try FileManager.default.attributesOfItem(atPath: keys + "/alerts.secret")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: keys)[.posixPermissions] as? Int) == 0o700)
    }

    @Test("a request budget kept in a file survives a restart: the next process waits out the window instead of spending a second one")
    func budgetSurvivesRestart() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-budget-\(UUID().uuidString).json").path
        let first = RequestRateLimiter(limit: 5, window: .seconds(60), margin: .zero, stateFile: file)
        for _ in 0..<5 { try await first.acquire() }
        // "Restarted": a new limiter on the same file has no slot for about a minute.
        let restarted = RequestRateLimiter(limit: 5, window: .seconds(60), margin: .zero, stateFile: file)
        let wait = try #require(try await restarted.acquire(waitingAtMost: .zero))
        #expect(wait > .seconds(55) && wait <= .seconds(60), "\(wait)")
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        // A window that has passed, or a file that is not a window at all, leaves the whole budget.
        try JSONEncoder().encode([Date().timeIntervalSince1970 - 120]).write(to: URL(fileURLWithPath: file))
        #expect(try await RequestRateLimiter(limit: 5, window: .seconds(60), stateFile: file).acquire(waitingAtMost: .zero) == nil)
        try Data("[1e999, \"x\"".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try await RequestRateLimiter(limit: 5, window: .seconds(60), stateFile: file).acquire(waitingAtMost: .zero) == nil)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    @Test(
        "a request answered late is counted from its answer: the API, which counted it on arrival, never sees one too many in a window"
    )
    func countedFromTheAnswer() async throws {
        let limiter = RequestRateLimiter(limit: 2, window: .seconds(60), margin: .zero)
        let first = try await limiter.acquire()
        // A second apart, so counting the first from its sending or from its answer differs by a second; every bound
        // below is measured from the clock, so a slow machine moves the figures, not the verdict.
        try await Task.sleep(for: .seconds(1))
        try await limiter.acquire()
        let secondSent = ContinuousClock.now
        try await Task.sleep(for: .milliseconds(300))
        // The first request's answer arrives now: its slot frees a minute from now, not from when it was sent.
        await limiter.answered(first)
        let answered = ContinuousClock.now
        let wait = try #require(try await limiter.acquire(waitingAtMost: .zero))
        let secondFrees = Self.seconds(.seconds(60) - secondSent.duration(to: .now))
        #expect(
            abs(Self.seconds(wait) - secondFrees) < 0.5,
            "the oldest slot is the second request's (free in \(secondFrees) s), not the first's from its sending: \(wait)")
        let two = await limiter.secondsToSend(2)
        let answerFrees = Self.seconds(.seconds(60) - answered.duration(to: .now))
        #expect(abs(two - answerFrees) < 0.5, "two more go when the answered one leaves the window (\(answerFrees) s): \(two)")
        #expect(await limiter.secondsToSend(3) > 100, "a third waits a second window")
        #expect(await limiter.secondsToSend(0) == 0)
    }

    @Test("a new data folder is 0700 and each database file 0600; an empty admin-token file refuses start instead of an empty token")
    func filesAreTheOwnersOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-perm-\(UUID().uuidString)/data").path
        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        _ = try ServiceDatabase.open(at: folder + "/alerts.sqlite", migrator: migrator)
        #expect((try FileManager.default.attributesOfItem(atPath: folder)[.posixPermissions] as? Int) == 0o700)
        #expect((try FileManager.default.attributesOfItem(atPath: folder + "/alerts.sqlite")[.posixPermissions] as? Int) == 0o600)
        FileManager.default.createFile(atPath: folder + "/admin-token", contents: Data())
        #expect(throws: ConfigurationError.self) { try AdminToken.resolve(Environment([:]), dataDirectory: folder) }
        try FileManager.default.removeItem(atPath: folder + "/admin-token")
        #expect(try AdminToken.resolve(Environment([:]), dataDirectory: folder).utf8.count >= 16)
    }

    @Test("an unusable value is refused with the variable's name, not guessed")
    func badValues() {
        let error = #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration(
                service: "alerts", defaultHTTPPort: 8084, environment: Environment.development(["VECTIS_HTTP_PORT": "eighty"]))
        }
        #expect(error?.description == "VECTIS_HTTP_PORT=eighty is not an integer")
        #expect(throws: ConfigurationError.self) {
            try RuntimeConfiguration(
                service: "alerts", defaultHTTPPort: 8084, environment: Environment.development(["VECTIS_LOG_FORMAT": "xml"]))
        }
    }

    @Test("VECTIS_LOG_FORMAT=json makes every log line a JSON object; a bad variable stops start-up with exit 2")
    func jsonLogsAndBadStart() async throws {
        let bus = try await BusProcess.start(environment: ["VECTIS_LOG_FORMAT": "json"])
        bus.process.signal(SIGTERM)
        #expect(await bus.process.waitForExit() == 0)
        let lines = bus.process.stderr.split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["msg"] is String && object?["level"] is String && object?["ts"] is String, "\(line)")
        }
        #expect(lines.contains { $0.contains(#""msg":"bus stopped""#) })

        let broken = try RunningProcess("vectis-bus", [], environment: ["VECTIS_HTTP_PORT": "eighty"])
        #expect(await broken.waitForExit() == 2)
        #expect(broken.stderr.contains("VECTIS_HTTP_PORT=eighty is not an integer"))
    }
}
