import Foundation
import Testing
import VectisBus
import VectisCLI
import VectisContracts
import VectisTestSupport
import ZeroMQ

@Suite("CURVE on the bus: encrypted, and only allow-listed keys get in")
struct CurveTests {
    @Test("allowed services talk; a plain peer and a peer with an unknown key can neither publish nor read")
    func allowList() async throws {
        let server = try ZMQCurve.keyPair()
        let service = try ZMQCurve.keyPair()
        let stranger = try ZMQCurve.keyPair()
        try await TestBus.with(curveSecretKey: server.secretKey, allowedClientKeys: [service.publicKey]) { bus in
            func configuration(_ keys: (publicKey: String, secretKey: String)?) -> BusConfiguration {
                var configuration = bus.configuration
                configuration.curve = keys.map { CurveClientKeys(serverPublicKey: server.publicKey, publicKey: $0.publicKey, secretKey: $0.secretKey) }
                return configuration
            }
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            let allowedSubscriber = BusSubscriber(
                context: context, configuration: configuration(service), filters: [.prefix("backup.")], metrics: metrics,
                logger: TestBus.quietLogger)
            #expect(await allowedSubscriber.waitUntilReady())
            let inbox = TestInbox(allowedSubscriber)

            // Readers without an allowed key never get through (their readiness probe cannot come back).
            let plainSubscriber = BusSubscriber(
                context: context, configuration: configuration(nil), filters: [.prefix("backup.")], metrics: metrics,
                logger: TestBus.quietLogger)
            let strangerSubscriber = BusSubscriber(
                context: context, configuration: configuration(stranger), filters: [.prefix("backup.")], metrics: metrics,
                logger: TestBus.quietLogger)
            let plainInbox = TestInbox(plainSubscriber)
            let strangerInbox = TestInbox(strangerSubscriber)

            let allowedPublisher = BusPublisher(
                context: context, configuration: configuration(service), stream: "allowed/1", metrics: metrics, logger: TestBus.quietLogger)
            #expect(await allowedPublisher.waitUntilReady())
            let plainPublisher = BusPublisher(
                context: context, configuration: configuration(nil), stream: "plain/1", metrics: metrics, logger: TestBus.quietLogger)
            let strangerPublisher = BusPublisher(
                context: context, configuration: configuration(stranger), stream: "stranger/1", metrics: metrics, logger: TestBus.quietLogger)
            for id in 1...20 {
                plainPublisher.publish(BackupJobRecorded.sample(Int64(id)))
                strangerPublisher.publish(BackupJobRecorded.sample(Int64(id)))
                allowedPublisher.publish(BackupJobRecorded.sample(Int64(id)))
            }
            let received = await inbox.wait { $0.count >= 20 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(Set(inbox.events.map(\.header.stream)) == ["allowed/1"], "nothing from peers without an allowed key")
            #expect(received.count >= 20)
            #expect(plainInbox.events.isEmpty && strangerInbox.events.isEmpty, "peers without an allowed key read nothing")
            let plainReady = await plainPublisher.waitUntilReady()
            let strangerReady = await strangerPublisher.waitUntilReady()
            #expect(!plainReady && !strangerReady, "their readiness probes never came back")
            #expect(bus.metrics.render().contains("vectis_bus_zap_denied_total"))
            for publisher in [allowedPublisher, plainPublisher, strangerPublisher] { await publisher.close() }
            for subscriber in [allowedSubscriber, plainSubscriber, strangerSubscriber] { await subscriber.close() }
        }
    }

    @Test("the tap needs an allowed key too")
    func tapNeedsAKey() async throws {
        let server = try ZMQCurve.keyPair()
        let operatorKey = try ZMQCurve.keyPair()
        try await TestBus.with(curveSecretKey: server.secretKey, allowedClientKeys: [operatorKey.publicKey]) { bus in
            /// The tap's first status line (it says whether its start-up round trip through the bus worked).
            func run(_ keys: (publicKey: String, secretKey: String)?) async -> String {
                let options = Tap.Options(
                    tapEndpoint: bus.endpoints.tap, publishEndpoint: bus.endpoints.publish, subscribeEndpoint: bus.endpoints.subscribe,
                    topicPrefixes: ["bus.probe."], count: 1, style: .json,
                    curve: keys.map { CurveClientKeys(serverPublicKey: server.publicKey, publicKey: $0.publicKey, secretKey: $0.secretKey) })
                let status = Latch<String>()
                // A refused tap keeps waiting for traffic that never comes; its thread is left to the process.
                Thread { try? Tap(options: options).run(output: { _ in }, status: { status.set($0) }) }.start()
                return await status.wait()
            }
            #expect(await run(operatorKey).hasPrefix("vectis tap: listening"))
            let refused = await run(nil)
            #expect(refused.hasPrefix("vectis tap: no answer from the bus"), "\(refused)")
        }
    }

    @Test("a public key is derived from its secret key")
    func derivedPublicKey() throws {
        let pair = try ZMQCurve.keyPair()
        #expect(try ZMQCurve.publicKey(fromSecret: pair.secretKey) == pair.publicKey)
        #expect(throws: ZMQError.self) { try ZMQCurve.publicKey(fromSecret: "too short") }
    }
}
