import CollectorService
import Crypto
import DattoSandbox
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Synchronization
import Testing
import VectisContracts
import VectisRuntime
import VectisTestSupport

/// `backup.retry.requested` spends the MSP's hook and Datto's request budget, so the collector carries out only
/// what makes sense: a retry of an agent it last read as failing, once per interval, signed for the RMM.
@Suite("Retry commands are honoured only where they make sense", .serialized)
struct RetryCommandTests {
    /// The MSP's retry hook: records every call.
    final class HookSink: Sendable {
        struct Call: Sendable {
            var body: Data
            var timestamp: String?
            var signature: String?
        }
        let calls = Mutex<[Call]>([])
    }

    @Test("30 retry requests for a failing agent call the hook once, signed; healthy, unknown and malformed agents call nothing")
    func retriesAreGated() async throws {
        let sink = HookSink()
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 65_536)
            sink.calls.withLock {
                $0.append(
                    .init(
                        body: Data(buffer: body), timestamp: request.headers[HTTPField.Name("X-Vectis-Timestamp")!],
                        signature: request.headers[HTTPField.Name("X-Vectis-Signature")!]))
            }
            return .ok
        }
        let hookPort = try freePort()
        let hook = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: hookPort)))
        let secret = "rmm-shared-secret-0123456789"
        try await withRunning(ServiceGroup(services: [hook], gracefulShutdownSignals: [], logger: TestBus.quietLogger)) {
            #expect(await waitUntilListening(hookPort))
            try await CollectorHarness.with(configure: {
                $0.retryHookURL = URL(string: "http://127.0.0.1:\(hookPort)/hook")
                $0.retryHookSecret = secret
            }) { harness in
                try await harness.configure()
                _ = try await harness.sync()
                // Failing and healthy agents by the sandbox's own truth: the latest run of each agent.
                let latest = Dictionary(grouping: harness.sandbox.visibleRunDetails(), by: { "\($0.serialNumber)/\($0.volume)" })
                    .compactMapValues { $0.max { $0.timestamp < $1.timestamp } }.values.sorted { $0.volume < $1.volume }
                let bad = try #require(latest.first { !$0.succeeded }).agent
                let good = try #require(latest.first { $0.succeeded }).agent
                let rules = try ReliableNode(harness.bus, service: "rules", instance: "rules-impostor")
                #expect(await rules.waitUntilReady())
                let publisher = rules.bus.connection.publisher
                func retry(_ id: String, _ serial: String, _ volume: String) -> BackupRetryRequested {
                    BackupRetryRequested(retryId: id, deviceSerial: serial, agentVolume: volume, reason: "test", requestedBy: "ru_1")
                }
                for index in 0..<30 { publisher.publish(retry("failing-\(index)", bad.serial, bad.volume)) }
                for index in 0..<5 { publisher.publish(retry("healthy-\(index)", good.serial, good.volume)) }
                publisher.publish(retry("unknown", "NOSUCHDEVICE", "vol-x"))
                publisher.publish(retry("malformed", String(repeating: "A", count: 5_000), "vol-x"))
                #expect(await eventually { sink.calls.withLock { $0.count } >= 1 })
                try await Task.sleep(for: .seconds(2))
                let calls = sink.calls.withLock { $0 }
                #expect(calls.count == 1, "the hook was called \(calls.count) times")
                let call = try #require(calls.first)
                let object = try #require(try JSONSerialization.jsonObject(with: call.body) as? [String: Any])
                #expect(object["retryId"] as? String == "failing-0")
                // The RMM's check: HMAC-SHA256 over "<timestamp>.<body>" with the shared secret.
                let timestamp = try #require(call.timestamp)
                let expected = HMAC<SHA256>.authenticationCode(
                    for: Data("\(timestamp).".utf8) + call.body, using: SymmetricKey(data: Data(secret.utf8)))
                #expect(call.signature == "sha256=" + expected.map { String(format: "%02x", $0) }.joined())
                let metrics = try await HTTP.send("GET", harness.collectorURL + "/metrics")
                let text = metrics.body
                #expect(
                    text.contains(#"vectis_collector_retries_refused_total{reason="too_soon"} 29"#),
                    "\(text.split(separator: "\n").filter { $0.contains("retries") })")
                #expect(text.contains(#"vectis_collector_retries_refused_total{reason="agent_not_failing"} 6"#))
                #expect(text.contains(#"vectis_collector_retries_refused_total{reason="malformed"} 1"#))
                try await rules.stop()
            }
        }
    }
}

extension SandboxRun {
    var agent: (serial: String, volume: String) { (serialNumber, volume) }
}
