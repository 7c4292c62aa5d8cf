import Foundation
import Testing
import VectisBus
import VectisContracts
import VectisRuntime
import VectisTestSupport
import ZeroMQ

@testable import BusService

@Suite("The bus fails closed")
struct ZAPFailureTests {
    @Test("if the ZAP handler's thread dies, the bus stops with an error instead of forwarding unchecked")
    func zapDeathStopsTheBus() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-zap-\(UUID().uuidString)").path
        try BusKeyDirectory.create(at: path)
        let keys = BusKeyDirectory(path: path)
        let proxy = BusProxy(
            configuration: BusServerConfiguration(
                publishBind: "tcp://127.0.0.1:*", subscribeBind: "tcp://127.0.0.1:*", tapBind: "tcp://127.0.0.1:*",
                httpPort: 0, statisticsIntervalMilliseconds: 100, curveSecretKey: try keys.serverSecretKey,
                allowedClients: try keys.allowList),
            metricsFactory: ServiceMetrics().factory, logger: TestBus.quietLogger)
        let run = Task { try await proxy.run() }
        let endpoints = try await proxy.endpoints()
        var configuration = BusConfiguration(
            publishEndpoint: endpoints.publish, subscribeEndpoint: endpoints.subscribe, tapEndpoint: endpoints.tap)
        configuration.curve = try keys.clientKeys(identity: BusOwnership.backups)
        let context = try ZMQContext()
        let metrics = BusMetrics()
        let subscriber = BusSubscriber(
            context: context, configuration: configuration, filters: [.prefix("backup.")], metrics: metrics,
            logger: TestBus.quietLogger)
        let publisher = BusPublisher(
            context: context, configuration: configuration, stream: "backups/1", metrics: metrics, logger: TestBus.quietLogger)
        #expect(await subscriber.waitUntilReady())
        #expect(await publisher.waitUntilReady())
        let inbox = TestInbox(subscriber)
        publisher.publish(BackupJobRecorded.sample(1))
        await inbox.wait { $0.count == 1 }

        proxy.failZAPHandlerForTesting()
        let outcome = await Task { () -> Result<Void, any Error> in
            do { return .success(try await run.value) } catch { return .failure(error) }
        }.value
        guard case .failure(let error) = outcome else {
            Issue.record("the bus kept running after its ZAP handler died")
            return
        }
        #expect("\(error)".contains("ZAP handler stopped"), "\(error)")
        #expect(!proxy.isRunning)
        // Nothing is forwarded any more: the ports are gone with the forwarder.
        publisher.publish(BackupJobRecorded.sample(2))
        try await Task.sleep(for: .milliseconds(500))
        #expect(inbox.events.count == 1)
        await publisher.close()
        await subscriber.close()
    }
}
