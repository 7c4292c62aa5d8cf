import DattoSandbox
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import PSASandbox
import ServiceLifecycle
import Synchronization
import Testing
import VectisContracts
import VectisRuntime
import VectisTestSupport

/// A PSA stand-in that records every request and answers as a hostile or broken PSA would.
final class HostileUpstream: Sendable {
    struct Seen: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
    }

    enum Behaviour: Sendable {
        /// 400 with a body that repeats the request's credentials back.
        case echoCredentials
        /// 307 to `location`.
        case redirect(String)
        /// 200 with this JSON.
        case json(String)
        /// Any answer: status, headers, body.
        case answer(Int, [String: String], String)
    }

    let seen = Mutex<[Seen]>([])
    let port: Int
    let behaviour: Behaviour
    var url: String { "http://127.0.0.1:\(port)" }

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        port = try freePort()
    }

    var requests: [Seen] { seen.withLock { $0 } }

    func application() -> some Service {
        let router = Router()
        router.add(middleware: Recorder(upstream: self))
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
    }

    struct Recorder: RouterMiddleware {
        typealias Context = BasicRequestContext
        let upstream: HostileUpstream

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            upstream.seen.withLock { $0.append(Seen(method: request.method.rawValue, path: request.uri.path, headers: headers)) }
            switch upstream.behaviour {
            case .echoCredentials:
                let echoed =
                    "request refused; you sent Authorization: \(headers["authorization"] ?? "-") clientId=\(headers["clientid"] ?? "-")"
                let body = try JSONSerialization.data(withJSONObject: ["message": echoed])
                return Response(
                    status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: body)))
            case .redirect(let location):
                return Response(status: .temporaryRedirect, headers: [.location: location])
            case .json(let text):
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            case .answer(let status, let fields, let text):
                var headers = HTTPFields()
                for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
                return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
    }
}

/// Runs `body` with the stand-ins answering on loopback.
func withUpstreams(_ upstreams: [HostileUpstream], _ body: () async throws -> Void) async throws {
    let group = ServiceGroup(services: upstreams.map { $0.application() }, gracefulShutdownSignals: [], logger: TestBus.quietLogger)
    try await withRunning(group) {
        for upstream in upstreams { #expect(await waitUntilListening(upstream.port)) }
        try await body()
    }
}

@Suite("Hostile PSAs and crafted requests: saved secrets stay put, nothing private is called, nothing secret is echoed", .serialized)
struct HostilePSATests {
    static let fleet = FleetConfiguration(
        customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0)

    @Test(
        "a rule edit or a pick-list request that points a saved rule at another address must carry every secret again; the other address hears nothing"
    )
    func secretsDoNotFollowANewAddress() async throws {
        let attacker = try HostileUpstream(.json("{}"))
        try await withUpstreams([attacker]) {
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                let rule = try await harness.enableRule("connectwise")
                var (settings, _) = harness.psaConnection("connectwise")
                settings["site"] = attacker.url

                let picklists = try await harness.rules("/v1/psa-picklists", "POST", ["rule": rule, "settings": ["site": attacker.url]])
                #expect(picklists.status == 400, "\(picklists.body)")
                #expect(
                    picklists.json["error"] as? String
                        == "site changed: give privateKey, clientId again (saved secrets are never sent to a new connection).")
                let edit = try await harness.rules("/v1/rules/\(rule)", "PATCH", ["settings": settings])
                #expect(
                    edit.status == 400 && (edit.json["error"] as? String ?? "").hasPrefix("site changed: give privateKey, clientId again"),
                    "\(edit.body)")
                // One secret is not enough: the other would still follow.
                let half = try await harness.rules(
                    "/v1/rules/\(rule)", "PATCH", ["settings": settings, "secrets": ["privateKey": "typed-again"]])
                #expect(half.status == 400 && (half.json["error"] as? String ?? "").contains("give clientId again"), "\(half.body)")
                // The user name (public key, company) counts too: it says whose secrets they are.
                var renamed = harness.psaConnection("connectwise").settings
                renamed["publicKey"] = "someone-else"
                #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["settings": renamed]).status == 400)
                #expect(attacker.requests.isEmpty, "the other address heard \(attacker.requests.map(\.path))")

                // Settings that keep the connection (a new board) need no secrets; new secrets typed in full may go anywhere.
                var board = harness.psaConnection("connectwise").settings
                board["boardId"] = 7
                #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["settings": board]).status == 200)
                let retyped = try await harness.rules(
                    "/v1/psa-picklists", "POST",
                    ["rule": rule, "settings": ["site": attacker.url], "secrets": ["privateKey": "new", "clientId": "new"]])
                #expect(retyped.status == 200, "\(retyped.body)")
                #expect(!attacker.requests.isEmpty)
                let sent = attacker.requests.map { $0.headers["authorization"] ?? "" }.joined()
                let saved = PSASandboxCredentials()
                #expect(
                    !sent.contains(
                        Data("\(saved.connectWiseCompany)+\(saved.connectWisePublicKey):\(saved.connectWisePrivateKey)".utf8)
                            .base64EncodedString()))
            }
        }
    }

    @Test("a PSA that echoes the request's credentials in its error: neither the API answer, the rule's history nor the log holds them")
    func echoedCredentialsAreRedacted() async throws {
        let echo = try HostileUpstream(.echoCredentials)
        try await withUpstreams([echo]) {
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                var (settings, secrets) = harness.psaConnection("connectwise")
                settings["site"] = echo.url
                let created = try await harness.rules(
                    "/v1/rules", "POST",
                    ["templateId": "datto-fails-2-nights-connectwise", "settings": settings, "secrets": secrets, "dryRunHours": 0])
                #expect(created.status == 201, "\(created.body)")
                let rule = created.json["id"] as? String ?? ""
                let answer = try await harness.rules("/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"])
                #expect(answer.json["ok"] as? Bool == false)
                #expect((answer.json["error"] as? String ?? "").contains("request refused"), "\(answer.body)")
                let credentials = PSASandboxCredentials()
                let basic = Data(
                    "\(credentials.connectWiseCompany)+\(credentials.connectWisePublicKey):\(credentials.connectWisePrivateKey)".utf8
                )
                .base64EncodedString()
                #expect(echo.requests.first?.headers["authorization"] == "Basic \(basic)", "the stand-in did receive the credentials")
                let history = "\(try await harness.history(rule))"
                for text in [answer.body, history, harness.logs.text] {
                    #expect(
                        !text.contains(basic) && !text.contains(credentials.connectWiseClientId)
                            && !text.contains(credentials.connectWisePrivateKey))
                }
                #expect(history.contains("***"), "the history says something was removed")
            }
        }
    }

    @Test("a redirect to another origin is answered as it is: the credentials never reach the other origin")
    func crossOriginRedirectsAreNotFollowed() async throws {
        let elsewhere = try HostileUpstream(.json(#"{"id": 1}"#))
        // `localhost` is another origin than `127.0.0.1`, though the same machine.
        let redirecting = try HostileUpstream(.redirect("http://localhost:\(elsewhere.port)/steal"))
        try await withUpstreams([elsewhere, redirecting]) {
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                var (settings, secrets) = harness.psaConnection("connectwise")
                settings["site"] = redirecting.url
                let created = try await harness.rules(
                    "/v1/rules", "POST",
                    ["templateId": "datto-fails-2-nights-connectwise", "settings": settings, "secrets": secrets, "dryRunHours": 0])
                let rule = created.json["id"] as? String ?? ""
                let answer = try await harness.rules("/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"])
                #expect(answer.json["ok"] as? Bool == false, "\(answer.body)")
                #expect(redirecting.requests.count == 1)
                #expect(elsewhere.requests.isEmpty, "the redirect was followed to \(elsewhere.requests.map(\.path))")
            }
        }
    }

    @Test("with private upstreams not allowed, a PSA on loopback or a metadata address is never called, and the answer says why")
    func privateAddressesAreRefused() async throws {
        try await SystemHarness.with(fleet: Self.fleet, upstreams: UpstreamPolicy()) { harness in
            let rule = try await harness.enableRule("connectwise")
            let answer = try await harness.rules("/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"])
            #expect(answer.json["ok"] as? Bool == false)
            #expect((answer.json["error"] as? String ?? "").contains("is a private address (127.0.0.1)"), "\(answer.body)")
            #expect(harness.psa.requests.isEmpty, "the PSA sandbox on loopback was called: \(harness.psa.requests)")
            // The assets service beside it, and the cloud metadata address, the same.
            for site in ["http://169.254.169.254", "http://[::1]:8082", "http://10.0.0.8"] {
                let lists = try await harness.rules(
                    "/v1/psa-picklists", "POST",
                    [
                        "psa": "connectwise", "settings": ["site": site, "companyId": "x", "publicKey": "y"],
                        "secrets": ["privateKey": "p", "clientId": "c"]
                    ])
                #expect((lists.json["error"] as? String ?? "").contains("private address"), "\(site): \(lists.body)")
            }
            // A base address with a query or fragment would steer the path the service appends.
            let steered = try await harness.rules(
                "/v1/psa-picklists", "POST",
                [
                    "psa": "halopsa", "settings": ["instanceURL": "https://example.halopsa.com/api/x?y=", "clientId": "c"],
                    "secrets": ["clientSecret": "s"]
                ])
            #expect(steered.status == 400 && (steered.json["error"] as? String ?? "").contains("must not hold a query"), "\(steered.body)")
        }
    }

    @Test("an Autotask zone lookup that names a zone outside Autotask is not believed: the zone hears no secret")
    func autotaskZoneOutsideAutotask() async throws {
        let zone = try HostileUpstream(.json(#"{"items": []}"#))
        let lookup = try HostileUpstream(.json(#"{"url": "http://localhost:\#(try freePort())/"}"#))
        try await withUpstreams([zone, lookup]) {
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                var (settings, secrets) = harness.psaConnection("autotask")
                settings["zoneLookupURL"] = lookup.url + "/atservicesrest/v1.0/"
                let lists = try await harness.rules(
                    "/v1/psa-picklists", "POST", ["psa": "autotask", "settings": settings, "secrets": secrets])
                #expect((lists.json["error"] as? String ?? "").contains("zone outside Autotask"), "\(lists.body)")
                #expect(lookup.requests.count == 1 && lookup.requests[0].headers["secret"] == nil)
                #expect(zone.requests.isEmpty)
            }
        }
    }

    @Test(
        "hostile numbers from a PSA — Retry-After 1e20, NaN or -1, a HaloPSA token living Int.min or 1e300 seconds — are clamped; the rules service stays up and says what happened"
    )
    func hostileNumbers() async throws {
        let answers: [(String, HostileUpstream.Behaviour)] = [
            ("connectwise", .answer(429, ["Retry-After": "1e20"], "{}")),
            ("connectwise", .answer(429, ["Retry-After": "NaN"], "{}")),
            ("connectwise", .answer(429, ["Retry-After": "-1"], "{}")),
            ("halopsa", .answer(200, ["Content-Type": "application/json"], #"{"access_token": "t", "expires_in": -9223372036854775808}"#)),
            ("halopsa", .answer(200, ["Content-Type": "application/json"], #"{"access_token": "t", "expires_in": 1e300}"#)),
            ("halopsa", .answer(200, ["Content-Type": "application/json"], #"{"access_token": "t", "expires_in": "soon"}"#))
        ]
        let upstreams = try answers.map { try HostileUpstream($0.1) }
        try await withUpstreams(upstreams) {
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                for ((psa, _), upstream) in zip(answers, upstreams) {
                    var (settings, secrets) = harness.psaConnection(psa)
                    settings[psa == "halopsa" ? "instanceURL" : "site"] = upstream.url
                    let created = try await harness.rules(
                        "/v1/rules", "POST",
                        ["templateId": "datto-fails-2-nights-\(psa)", "settings": settings, "secrets": secrets, "dryRunHours": 0])
                    #expect(created.status == 201, "\(created.body)")
                    let rule = created.json["id"] as? String ?? ""
                    // Twice: the second call finds whatever the first left (a cached token, a waiting budget).
                    for _ in 0..<2 {
                        let answer = try await harness.rules("/v1/rules/\(rule)/test-ticket", "POST", ["companyId": "250"])
                        #expect(answer.status == 200 && answer.json["ok"] as? Bool == false, "\(psa) \(upstream.behaviour): \(answer.body)")
                    }
                    #expect(try await HTTP.send("GET", harness.rulesURL + "/healthz").status == 200)
                }
            }
        }
    }

    @Test("a rule whose secrets cannot be opened waits with its reason; a healthy rule's tickets beside it still open on time")
    func oneBrokenRuleDoesNotStallTheOthers() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let broken = try await harness.enableRule("connectwise")
            let healthy = try await harness.enableRule("halopsa")
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(harness.sandbox.inventory()[0]))
            try await harness.map("connectwise", customer: customerId, company: "250")
            try await harness.map("halopsa", customer: customerId, company: "250")
            // The older rule's secrets were sealed under another key file: every one of its actions comes first in the queue.
            let database = try DatabaseQueue(path: harness.dataDirectory.appendingPathComponent("rules.sqlite").path)
            try await database.write { db in
                try db.execute(
                    sql: "UPDATE rule SET secrets_sealed = 'sealed-under-another-key' WHERE id = ?", arguments: [Int(broken.dropFirst(3))!])
            }
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 3))
            try await harness.nextNight()
            try await harness.nextNight()
            let psa = harness.psa
            #expect(
                try await eventually(timeout: .seconds(30)) { psa.tickets(psa: "halopsa").count == 1 }, "the healthy rule's ticket opened")
            #expect(psa.tickets(psa: "connectwise").isEmpty)
            let history = try await harness.history(broken)
            #expect(
                history.contains {
                    $0.kind == "psa-action-waiting" && $0.detail.contains("cannot be decrypted")
                },
                "\(history)")
            let metrics = try await HTTP.send("GET", harness.rulesURL + "/metrics").body
            #expect(metrics.contains("vectis_rules_psa_actions_set_aside_total"))
            _ = healthy
        }
    }
}
