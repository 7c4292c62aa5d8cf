import CollectorService
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import VectisRuntime
import VectisTestSupport

/// A Datto stand-in that answers what no honest Datto would: absurd numbers, odd shapes, missing counts.
/// Nothing may end the collector's process; odd-but-real shapes must be read, not silently dropped.
@Suite("A hostile or odd Datto answer")
struct HostileDattoTests {
    /// Serves `answers[path]` (status, headers, body) for each path.
    static func withStandIn(
        _ answers: [String: (HTTPResponse.Status, [String: String], String)], _ body: (URL) async throws -> Void
    ) async throws {
        let router = Router()
        for (path, answer) in answers {
            router.get(RouterPath(path)) { _, _ -> Response in
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                for (name, value) in answer.1 { headers[HTTPField.Name(name)!] = value }
                return Response(status: answer.0, headers: headers, body: .init(byteBuffer: ByteBuffer(string: answer.2)))
            }
        }
        let port = try freePort()
        let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await withRunning(ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)) {
            #expect(await waitUntilListening(port))
            try await body(URL(string: "http://127.0.0.1:\(port)/v1")!)
        }
    }

    static func client(_ base: URL) -> DattoClient {
        DattoClient(
            baseURL: base, credentials: DattoCredentials(publicKey: "p", secretKey: "s", region: "us"),
            limiter: RequestRateLimiter(limit: 1_000), timeout: .seconds(5),
            retry: DattoRetryPolicy(maxAttempts: 2, backoffBase: .milliseconds(10), backoffCap: .milliseconds(20)),
            logger: TestBus.quietLogger)
    }

    @Test("1e300 bytes of storage, dates of 'infinity' and 1e300, and a Retry-After of 1e20 are read as unknown, never a crash")
    func absurdNumbers() async throws {
        let device = #"""
            {"serialNumber": "A1", "localStorageUsed": {"size": 1e300, "units": "TB"}, "localStorageAvailable": {"size": -5},
             "offsiteStorageUsed": 1e300, "lastSeenDate": "infinity", "agentCount": 1e300}
            """#
        try await Self.withStandIn([
            "/v1/bcdr/device/A1": (.ok, [:], device),
            "/v1/bcdr/device/A2": (.ok, [:], #"{"serialNumber": "A2", "lastSeenDate": 1e300, "localStorageUsed": {"size": "NaN"}}"#),
            "/v1/bcdr/device/A3": (.tooManyRequests, ["Retry-After": "1e20"], "{}")
        ]) { base in
            let client = Self.client(base)
            let first = try await client.device(serialNumber: "A1")
            #expect(first.localStorageUsedBytes == nil && first.offsiteStorageUsedBytes == nil)
            #expect(first.lastSeenDate == nil)
            #expect(first.agentCount == nil)
            let second = try await client.device(serialNumber: "A2")
            #expect(second.lastSeenDate == nil, "a date after 2200 is not a date")
            // 429 with Retry-After 1e20: the wait is past what a poll may wait, so the attempt ends with an error.
            await #expect(throws: DattoError.self) { _ = try await client.device(serialNumber: "A3") }
        }
    }

    @Test("an /asset answer that is one object is one agent, not zero; the Test count uses the best evidence")
    func oddShapes() async throws {
        let asset = #"{"volume": "v1", "name": "DC01", "backups": [{"timestamp": 1759330000, "backup": {"status": "success"}}]}"#
        try await Self.withStandIn([
            "/v1/bcdr/device/A1/asset": (.ok, [:], asset),
            "/v1/bcdr/device": (
                .ok, [:], #"{"pagination": {"page": 1, "perPage": 1, "totalPages": 37}, "items": [{"serialNumber": "A1"}]}"#
            )
        ]) { base in
            let client = Self.client(base)
            let assets = try await client.assets(serialNumber: "A1")
            #expect(assets.map(\.volume) == ["v1"])
            #expect(assets.first?.backups.count == 1)
            let visible = try await client.visibleDeviceCount()
            #expect(visible.count == 37 && !visible.atLeast, "totalPages × perPage 1 is the count")
        }
        try await Self.withStandIn([
            "/v1/bcdr/device": (.ok, [:], #"{"pagination": {"count": 0}, "items": [{"serialNumber": "A1"}]}"#)
        ]) { base in
            let visible = try await Self.client(base).visibleDeviceCount()
            #expect(visible.count == 1 && visible.atLeast, "a count of 0 beside a device is a lower bound of 1")
        }
    }
}
