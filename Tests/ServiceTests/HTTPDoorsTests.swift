import AlertsService
import AssetsService
import ConsoleService
import Foundation
import GRDB
import ServiceLifecycle
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisStorage
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A client on a plain TCP socket, for what URLSession will not send: another `Host`, headers that never end.
struct RawHTTPClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard connectLoopback(fd, port: port) else { throw ProcessFailure("cannot connect to 127.0.0.1:\(port)") }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    /// What the server sent within `seconds`, and whether it closed the connection.
    func receive(for seconds: Double) -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while Date() < deadline {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count > 0 { received += buffer[0..<count] }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    func close() { _ = Glibc.close(fd) }

    /// One request with `host` as its Host header; the status line's code.
    static func status(port: Int, path: String, host: String, token: String? = nil) throws -> Int? {
        let client = try RawHTTPClient(port: port)
        defer { client.close() }
        client.send(
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n" + (token.map { "Authorization: Bearer \($0)\r\n" } ?? "")
                + "Connection: close\r\n\r\n")
        let answer = client.receive(for: 3).text
        return answer.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }
}

@Suite("HTTP doors: tokens on reads, host names, slow clients, connection cap, token files, damaged databases", .serialized)
struct HTTPDoorsTests {
    @Test(
        "customer data needs the read-only or the admin token on assets, backups, alerts and rules; changes need the admin token; health, readiness and metrics stay open"
    )
    func readsNeedAToken() async throws {
        try await SystemHarness.with { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let customer = try #require(try await harness.assets("/v1/customers", as: CustomerList.self).customers.first?.id)
            let reads = [
                harness.assetsURL + "/v1/customers", harness.assetsURL + "/v1/customers/\(customer)/assets",
                harness.backupsURL + "/v1/customers/\(customer)/backups", harness.alertsURL + "/v1/alerts",
                harness.rulesURL + "/v1/tickets", harness.rulesURL + "/v1/rules"
            ]
            for url in reads {
                #expect(try await HTTP.send("GET", url).status == 401, "\(url) without a token")
                #expect(try await HTTP.send("GET", url, bearer: "not-a-token-0123456789").status == 401, "\(url) with a wrong token")
                #expect(try await HTTP.send("GET", url, bearer: CollectorHarness.readToken).status == 200, "\(url) with the read token")
                #expect(try await HTTP.send("GET", url, bearer: CollectorHarness.token).status == 200, "\(url) with the admin token")
            }
            let refused = try await HTTP.send("GET", harness.assetsURL + "/v1/customers")
            #expect(
                refused.json["error"] as? String == "This endpoint needs Authorization: Bearer <VECTIS_READ_TOKEN or VECTIS_ADMIN_TOKEN>.")
            // The read token changes nothing.
            let alert = try #require(try await harness.alertList().first?.id)
            #expect(
                try await harness.alerts("/v1/alerts/\(alert)/acknowledge", "POST", ["by": "x"], token: CollectorHarness.readToken).status
                    == 401)
            #expect(
                try await HTTP.send("POST", harness.rulesURL + "/v1/rules", ["templateId": "x"], bearer: CollectorHarness.readToken).status
                    == 401)
            #expect(try await HTTP.send("GET", harness.assetsURL + "/v1/dead-letters", bearer: CollectorHarness.readToken).status == 401)
            for url in [harness.assetsURL, harness.backupsURL, harness.alertsURL, harness.rulesURL] {
                for path in ["/healthz", "/metrics"] {
                    #expect(try await HTTP.send("GET", url + path).status == 200, "\(url)\(path)")
                }
                // Readiness may dip while a loaded machine delays the service's own heartbeat; without a token it
                // must still answer, and be ready again soon.
                #expect(try await HTTP.send("GET", url + "/readyz").status != 401, "\(url)/readyz")
                #expect(
                    await eventually(timeout: .seconds(15)) { (try? await HTTP.send("GET", url + "/readyz").status) == 200 },
                    "\(url)/readyz")
            }
        }
    }

    @Test(
        "a request naming another host (a rebound DNS name) is answered 421; loopback names and configured names are served; probes answer any host"
    )
    func hostAllowList() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-host-\(UUID().uuidString)").path
        var runtime = RuntimeConfiguration(service: "assets", instance: "test", httpPort: try freePort(), dataDirectory: dataDirectory)
        runtime.http.allowedHosts = ["assets.internal"]
        try await TestBus.with { bus in
            runtime.bus = bus.configuration(as: "assets")
            let application = try AssetsService.buildApplication(
                AssetsConfiguration(runtime: runtime, access: CollectorHarness.access), logger: TestBus.quietLogger
            ).application
            try await withRunning(ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)) {
                #expect(await waitUntilListening(runtime.httpPort))
                let port = runtime.httpPort
                let token = CollectorHarness.readToken
                let status1 = try RawHTTPClient.status(port: port, path: "/v1/customers", host: "attacker.example", token: token)
                #expect(status1 == 421)
                let status2 = try RawHTTPClient.status(port: port, path: "/v1/customers", host: "attacker.example:\(port)", token: token)
                #expect(status2 == 421)
                let status3 = try RawHTTPClient.status(port: port, path: "/v1/customers", host: "127.0.0.1.attacker.example", token: token)
                #expect(status3 == 421)
                let status4 = try RawHTTPClient.status(port: port, path: "/v1/customers", host: "localhost:\(port)", token: token)
                #expect(status4 == 200)
                let status5 = try RawHTTPClient.status(port: port, path: "/v1/customers", host: "[::1]:\(port)", token: token)
                #expect(status5 == 200)
                let status6 = try RawHTTPClient.status(port: port, path: "/v1/customers", host: "ASSETS.internal", token: token)
                #expect(status6 == 200)
                let status7 = try RawHTTPClient.status(port: port, path: "/healthz", host: "10.1.2.3:\(port)")
                #expect(status7 == 200)
            }
        }
    }

    @Test(
        "a client whose headers never finish is disconnected after the header timeout; past the connection cap nobody else is accepted until one leaves"
    )
    func slowClientsAndTheConnectionCap() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-slow-\(UUID().uuidString)").path
        var runtime = RuntimeConfiguration(service: "alerts", instance: "test", httpPort: try freePort(), dataDirectory: dataDirectory)
        runtime.http.headerTimeout = .seconds(1)
        runtime.http.maxConnections = 3
        try await TestBus.with { bus in
            runtime.bus = bus.configuration(as: "alerts")
            let application = try AlertsService.buildApplication(
                AlertsConfiguration(runtime: runtime, access: CollectorHarness.access), logger: TestBus.quietLogger
            ).application
            try await withRunning(ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)) {
                #expect(await waitUntilListening(runtime.httpPort))
                let port = runtime.httpPort
                // Slow headers: a byte at a time, never the blank line.
                let slow = try RawHTTPClient(port: port)
                slow.send("GET /v1/alerts HTTP/1.1\r\nHost: localhost\r\n")
                var closed = false
                for _ in 0..<4 where !closed {
                    slow.send("X-Slow: 1\r\n")
                    closed = slow.receive(for: 0.8).closed
                }
                #expect(closed, "the slow client was disconnected within about a second")
                slow.close()

                // Three idle connections take every slot; a fourth request waits until they go (header timeout).
                let holders = try (0..<3).map { _ in try RawHTTPClient(port: port) }
                try await Task.sleep(for: .milliseconds(200))
                let started = ContinuousClock.now
                let status = try RawHTTPClient.status(port: port, path: "/healthz", host: "localhost")
                let waited = ContinuousClock.now - started
                #expect(status == 200)
                #expect(waited >= .milliseconds(500), "answered after \(waited), while the cap was full")
                for holder in holders { holder.close() }
            }
        }
    }

    @Test("the console's pages carry CSP, nosniff, no-referrer and no framing; a body over the limit answers 413 through it")
    func consoleHeaders() async throws {
        try await SystemHarness.with { harness in
            try await harness.withConsole { console in
                let (_, response) = try await URLSession.shared.data(from: URL(string: console + "/")!)
                let http = try #require(response as? HTTPURLResponse)
                #expect(http.statusCode == 200)
                let policy = http.value(forHTTPHeaderField: "Content-Security-Policy") ?? ""
                #expect(
                    policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe-inline"))
                #expect(http.value(forHTTPHeaderField: "X-Content-Type-Options") == "nosniff")
                #expect(http.value(forHTTPHeaderField: "Referrer-Policy") == "no-referrer")
                #expect(http.value(forHTTPHeaderField: "X-Frame-Options") == "DENY")
                var request = URLRequest(url: URL(string: console + "/api/rules/v1/rules")!)
                request.httpMethod = "POST"
                request.setValue("Bearer \(CollectorHarness.token)", forHTTPHeaderField: "Authorization")
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.httpBody = Data(("{\"name\": \"" + String(repeating: "x", count: 2 << 20) + "\"}").utf8)
                let (_, tooLarge) = try await URLSession.shared.data(for: request)
                #expect((tooLarge as? HTTPURLResponse)?.statusCode == 413)
            }
        }
    }

    @Test(
        "token files: services starting together agree on one token, the file is whole and 0600, nothing temporary is left; short tokens refuse start"
    )
    func tokenFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-tokens-\(UUID().uuidString)").path
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<12 {
                group.addTask { try ReadToken.resolve(Environment([:]), dataDirectory: directory) }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(tokens).count == 1 && tokens[0].utf8.count >= 16)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/read-token")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["read-token"])
        #expect(throws: ConfigurationError.self) {
            try AdminToken.resolve(Environment(["VECTIS_ADMIN_TOKEN": "short"]), dataDirectory: directory)
        }
        let short = directory + "/short"
        try "abc\n".write(toFile: short, atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationError.self) {
            try ReadToken.resolve(Environment(["VECTIS_READ_TOKEN_FILE": short]), dataDirectory: directory)
        }
    }

    @Test("a damaged database file refuses start with its path and what to do, instead of failing later on some query")
    func damagedDatabase() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-damaged-\(UUID().uuidString)/alerts.sqlite").path
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            for id in 0..<2_000 {
                try db.execute(sql: "INSERT INTO filler (text) VALUES (?)", arguments: [String(repeating: "x", count: 200 + id % 50)])
            }
        }
        do {
            let database = try ServiceDatabase.open(at: path, migrator: migrator)
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            try database.close()
        }
        // Garbage over the table's pages, the schema and the migrations' pages left whole.
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 4_096 * 8)
        handle.write(Data((0..<(4_096 * 4)).map { _ in UInt8.random(in: 0...255) }))
        try handle.close()
        do {
            _ = try ServiceDatabase.open(at: path, migrator: migrator)
            Issue.record("a damaged database was opened")
        } catch let error as DatabaseFileError {
            #expect(error.path == path)
            #expect(error.problem.contains("is damaged") && error.problem.contains("restore it from a backup"), "\(error)")
        }
    }
}
