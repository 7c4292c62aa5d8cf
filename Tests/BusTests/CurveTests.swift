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
        try await TestBus.with(curveSecretKey: server.secretKey, allowedClients: [service.publicKey: "backups"]) { bus in
            func configuration(_ keys: (publicKey: String, secretKey: String)?) -> BusConfiguration {
                var configuration = bus.configuration
                configuration.curve = keys.map {
                    CurveClientKeys(serverPublicKey: server.publicKey, publicKey: $0.publicKey, secretKey: $0.secretKey)
                }
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
                context: context, configuration: configuration(service), stream: "backups/1", metrics: metrics, logger: TestBus.quietLogger)
            #expect(await allowedPublisher.waitUntilReady())
            let plainPublisher = BusPublisher(
                context: context, configuration: configuration(nil), stream: "plain/1", metrics: metrics, logger: TestBus.quietLogger)
            let strangerPublisher = BusPublisher(
                context: context, configuration: configuration(stranger), stream: "stranger/1", metrics: metrics,
                logger: TestBus.quietLogger)
            for id in 1...20 {
                plainPublisher.publish(BackupJobRecorded.sample(Int64(id)))
                strangerPublisher.publish(BackupJobRecorded.sample(Int64(id)))
                allowedPublisher.publish(BackupJobRecorded.sample(Int64(id)))
            }
            let received = await inbox.wait { $0.count >= 20 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(Set(inbox.events.map(\.header.stream)) == ["backups/1"], "nothing from peers without an allowed key")
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

    typealias Keys = (publicKey: String, secretKey: String)

    /// A CURVE bus that admits the backups, assets and tap keys; `configuration` connects as one of them.
    static func withOwnershipBus(
        _ body: (TestBus, _ backups: Keys, _ assets: Keys, _ tap: Keys, _ configuration: (Keys) -> BusConfiguration) async throws -> Void
    ) async throws {
        let server = try ZMQCurve.keyPair()
        let backups = try ZMQCurve.keyPair()
        let assets = try ZMQCurve.keyPair()
        let tap = try ZMQCurve.keyPair()
        let allowed = [backups.publicKey: "backups", assets.publicKey: "assets", tap.publicKey: "tap"]
        try await TestBus.with(curveSecretKey: server.secretKey, allowedClients: allowed) { bus in
            func configuration(_ keys: Keys) -> BusConfiguration {
                var configuration = bus.configuration
                configuration.curve = CurveClientKeys(
                    serverPublicKey: server.publicKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
                return configuration
            }
            try await body(bus, backups, assets, tap, configuration)
        }
    }

    @Test("a service key publishing another service's topic, or a stream not its own, is dropped and counted; the legitimate flow goes on")
    func ownership() async throws {
        try await Self.withOwnershipBus { bus, backups, assets, tap, configuration in
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            let subscriber = BusSubscriber(
                context: context, configuration: configuration(tap), filters: [.prefix("backup.")],
                metrics: metrics, logger: TestBus.quietLogger)
            #expect(await subscriber.waitUntilReady())
            let inbox = TestInbox(subscriber)
            func publisher(_ keys: Keys, _ stream: String) async -> BusPublisher {
                let publisher = BusPublisher(
                    context: context, configuration: configuration(keys), stream: stream, metrics: metrics, logger: TestBus.quietLogger)
                _ = await publisher.waitUntilReady()
                return publisher
            }
            let honest = await publisher(backups, "backups/1")
            let impostor = await publisher(assets, "assets/1")  // the assets key, a topic backups owns
            let foreignStream = await publisher(backups, "rules/1")  // the backups key, the rules service's stream
            let tapPublisher = await publisher(tap, "tap/1")  // a tap may publish nothing but probes
            for id in 1...20 {
                impostor.publish(BackupJobRecorded.sample(Int64(id), status: .failure))
                foreignStream.publish(BackupJobRecorded.sample(Int64(id), status: .success))
                tapPublisher.publish(BackupJobRecorded.sample(Int64(id), status: .success))
                honest.publish(BackupJobRecorded.sample(Int64(id)))
            }
            await inbox.wait { $0.count >= 20 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(Set(inbox.events.map(\.header.stream)) == ["backups/1"], "only the owner's own stream came through")
            #expect(inbox.events.count == 20)
            let dropped = bus.proxy.droppedCounts
            #expect(dropped["assets|topic_not_owned"] == 20, "\(dropped)")
            #expect(dropped["backups|stream_not_own"] == 20, "\(dropped)")
            #expect(dropped["tap|topic_not_owned"] == 20, "\(dropped)")
            for publisher in [honest, impostor, foreignStream, tapPublisher] { await publisher.close() }
            await subscriber.close()
        }
    }

    @Test(
        "the bus checks every header of a bundle: one foreign stream or topic drops the whole bundle; honest bundles arrive as their events"
    )
    func bundleOwnership() async throws {
        try await Self.withOwnershipBus { bus, backups, assets, tap, configuration in
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            let subscriber = BusSubscriber(
                context: context, configuration: configuration(tap), filters: [.prefix("backup.")], metrics: metrics,
                logger: TestBus.quietLogger)
            #expect(await subscriber.waitUntilReady())
            let inbox = TestInbox(subscriber)
            let honest = BusPublisher(
                context: context, configuration: configuration(backups), stream: "backups/1", metrics: metrics, logger: TestBus.quietLogger)
            let impostor = BusPublisher(
                context: context, configuration: configuration(assets), stream: "assets/1", metrics: metrics, logger: TestBus.quietLogger)
            #expect(await honest.waitUntilReady())
            #expect(await impostor.waitUntilReady())
            let topic = BackupJobRecorded.topic
            let body = Array(try BusJSON.makeEncoder().encode(BackupJobRecorded.sample(1)))
            func bundle(_ seqs: ClosedRange<UInt64>, streams: (UInt64) -> String) -> BusBundle.Message {
                let items = seqs.map { seq in
                    BusBundle.Item(
                        topic: topic, seq: seq, header: MessageHeader(schemaVersion: 1, stream: streams(seq), seq: seq).jsonBytes(),
                        body: body)
                }
                return BusBundle.messages(items, maxEvents: 256, maxBytes: 1 << 20)[0]
            }
            // Honest 1...8; then 9...16 with the fifth header in the rules service's stream (behind four honest ones);
            // then the assets key sending a bundle of backups' topic in its own stream; then honest 9...12.
            honest.publish(messages: [bundle(1...8) { _ in "backups/1" }])
            honest.publish(messages: [bundle(9...16) { $0 == 13 ? "rules/1" : "backups/1" }])
            impostor.publish(messages: [bundle(1...4) { _ in "assets/1" }])
            honest.publish(messages: [bundle(9...12) { _ in "backups/1" }])
            await inbox.wait { $0.count >= 12 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(inbox.events.map(\.header.seq) == Array(1...12), "the honest bundles' events, in order, and nothing else")
            #expect(Set(inbox.events.map(\.header.stream)) == ["backups/1"])
            let dropped = bus.proxy.droppedCounts
            #expect(dropped["backups|stream_not_own"] == 1, "\(dropped)")
            #expect(dropped["assets|topic_not_owned"] == 1, "\(dropped)")
            await honest.close()
            await impostor.close()
            await subscriber.close()
        }
    }

    @Test("the tap needs an allowed key too")
    func tapNeedsAKey() async throws {
        let server = try ZMQCurve.keyPair()
        let operatorKey = try ZMQCurve.keyPair()
        try await TestBus.with(curveSecretKey: server.secretKey, allowedClients: [operatorKey.publicKey: "tap"]) { bus in
            /// The tap's first status line (it says whether its start-up round trip through the bus worked).
            func run(_ keys: (publicKey: String, secretKey: String)?) async -> String {
                let options = Tap.Options(
                    tapEndpoint: bus.endpoints.tap, publishEndpoint: bus.endpoints.publish, subscribeEndpoint: bus.endpoints.subscribe,
                    topicPrefixes: ["bus.probe."], count: 1, style: .json,
                    curve: keys.map { CurveClientKeys(serverPublicKey: server.publicKey, publicKey: $0.publicKey, secretKey: $0.secretKey) }
                )
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
