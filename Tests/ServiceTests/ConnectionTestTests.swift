import CollectorService
import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisTestSupport

@Suite("Datto integration: Test, errors in the guide's words", .serialized)
struct ConnectionTestTests {
    /// The Test button's answer for `body`, decoded.
    static func test(_ harness: CollectorHarness, _ body: [String: Any]? = nil) async throws -> ConnectionTestResult {
        try HTTP.decode(
            ConnectionTestResult.self, try await harness.request("POST", "/v1/integrations/datto/test", body),
            "POST /v1/integrations/datto/test")
    }

    @Test("Test with the sandbox's key prints exactly the guide's Connected line with the sandbox's N")
    func connected() async throws {
        try await CollectorHarness.with { harness in
            try await harness.configure()
            let result = try await Self.test(harness)
            #expect(result.message == "Connected to Datto (us) — \(harness.sandbox.deviceCount) BCDR devices visible")
            #expect(result.ok && result.devices == harness.sandbox.deviceCount && result.kind == nil)
            // Keys submitted with the request are tested without saving them.
            let unsaved = try await Self.test(
                harness, ["publicKey": CollectorHarness.key.publicKey, "secretKey": CollectorHarness.key.secretKey, "region": "us"])
            #expect(unsaved.ok)
        }
    }

    @Test("401, 403 and the wrong region give the guide's messages")
    func guideErrors() async throws {
        try await CollectorHarness.with { harness in
            try await harness.configure()
            let cases: [([String: Any], String)] = [
                (["secretKey": "not-the-secret"], "Public key / secret key pair is wrong. Rotate from the Partner Portal and re-enter."),
                (
                    ["publicKey": "sandbox-noscope-key", "secretKey": "sandbox-secret-noscope-5d3a"],
                    "The key lacks the BCDR API scope. Datto may require a support ticket to add it."
                ),
                (["region": "eu"], "Region is wrong for this partner account. Try the other region.")
            ]
            for (body, message) in cases {
                let result = try await Self.test(harness, body)
                #expect(!result.ok)
                #expect(result.message == message)
                #expect(try await harness.request("GET", "/healthz").status == 200)
            }
        }
    }

    @Test("every fault the sandbox can inject gets its own clear message, and the service stays up")
    func faults() async throws {
        try await CollectorHarness.with(configure: {
            $0.requestTimeout = .seconds(1)
            $0.maxResponseBytes = 1 << 20
        }) { harness in
            try await harness.configure()
            let cases: [(SandboxFault, String)] = [
                (SandboxFault(fault: .unauthorized), "Public key / secret key pair is wrong."),
                (SandboxFault(fault: .forbidden), "The key lacks the BCDR API scope."),
                (SandboxFault(fault: .wrongRegion), "Region is wrong for this partner account."),
                (SandboxFault(fault: .rateLimit, count: 5, retryAfterSeconds: 0), "Datto's rate limit (429) held on /bcdr/device"),
                (SandboxFault(fault: .gatewayTimeout, count: 5), "Datto answered 504 on /bcdr/device"),
                (SandboxFault(fault: .malformed), "Datto's response to /bcdr/device is not the JSON expected"),
                (SandboxFault(fault: .truncated), "Datto's response to /bcdr/device is not the JSON expected"),
                (SandboxFault(fault: .slow, count: 5, delayMilliseconds: 2_500), "Datto did not answer /bcdr/device within 1 s."),
                (
                    SandboxFault(fault: .huge, bytes: 8 << 20),
                    "Datto's response to /bcdr/device is larger than 1 MiB; it was cut off and not read"
                ),
                (SandboxFault(fault: .empty), "Datto's response to /bcdr/device is not the JSON expected"),
                (SandboxFault(fault: .wrongShape), "Datto's response to /bcdr/device is not the JSON expected"),
                (SandboxFault(fault: .proxyError, count: 5), "Datto answered 502 on /bcdr/device through 3 attempts"),
                (SandboxFault(fault: .serverError, count: 5), "Datto answered 500 on /bcdr/device through 3 attempts")
            ]
            for (fault, message) in cases {
                harness.queueFault(fault)
                let result = try await Self.test(harness)
                #expect(!result.ok, "\(fault.fault)")
                #expect(result.message.hasPrefix(message), "\(fault.fault): \(result.message)")
                #expect(try await harness.request("GET", "/healthz").status == 200)
                harness.sandbox.clearFaults()
            }
            // A sync that meets bad input fails with the reason, counted by kind; the next one succeeds.
            harness.queueFault(SandboxFault(fault: .huge, path: "/bcdr/device", bytes: 4 << 20))
            let failed = try await harness.sync()
            #expect(failed.status == .error)
            #expect((failed.lastError ?? "\(failed)").contains("larger than 1 MiB"), "\(failed)")
            let metrics = try await harness.request("GET", "/metrics").body
            #expect(metrics.contains(#"vectis_collector_sync_errors_total{kind="too-large"} 1"#), "\(metrics)")
            #expect(try await harness.sync().status == .ok)
            // One 429 with Retry-After is waited out, not reported.
            harness.queueFault(SandboxFault(fault: .rateLimit, count: 1, retryAfterSeconds: 1))
            #expect(try await Self.test(harness).ok)
        }
    }

    @Test("an unreachable host and an unknown host name say so, with the endpoint")
    func unreachable() async throws {
        let closedPort = try freePort()
        try await CollectorHarness.with(configure: { configuration in
            configuration.regions.baseURLs["eu"] = URL(string: "http://127.0.0.1:\(closedPort)/v1")!
            configuration.regions.baseURLs["us"] = URL(string: "http://no-such-host.invalid/v1")!
        }) { harness in
            let refused = try await Self.test(harness, ["publicKey": "a", "secretKey": "b", "region": "eu"])
            #expect(
                refused.message.hasPrefix("Cannot reach Datto at 127.0.0.1 (connection refused) for /bcdr/device."), "\(refused.message)")
            #expect(refused.kind == .unreachable && refused.endpoint == "/bcdr/device")
            let unknown = try await Self.test(harness, ["publicKey": "a", "secretKey": "b", "region": "us"])
            #expect(unknown.message.hasPrefix("Cannot reach Datto at no-such-host.invalid"), "\(unknown.message)")
        }
    }

    @Test("the admin API refuses requests without the token, and bad settings get a 400 with the reason")
    func adminAndValidation() async throws {
        try await CollectorHarness.with { harness in
            #expect(try await harness.request("GET", "/v1/integrations/datto", token: nil).status == 401)
            #expect(try await harness.request("GET", "/v1/integrations/datto", token: "wrong").status == 401)
            let noSecret = try await harness.request("PUT", "/v1/integrations/datto", ["publicKey": "p", "region": "us"])
            #expect(noSecret.status == 400)
            #expect(try HTTP.decode(APIProblem.self, noSecret, "PUT").error.contains("secretKey is required"))
            let badRegion = try await harness.request(
                "PUT", "/v1/integrations/datto", ["publicKey": "p", "secretKey": "s", "region": "mars"])
            #expect(badRegion.status == 400 && badRegion.body.contains("region must be us or eu"))
            #expect(try await harness.request("POST", "/v1/integrations/datto/sync").status == 404)
        }
    }
}
