import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VectisBus
import VectisContracts
import VectisRuntime
import VectisTestSupport
import ZeroMQ

@Suite("Bad input on the bus")
struct MalformedMessageTests {
    /// Frames of a valid `backup.job.recorded` message.
    func validFrames(_ id: Int64, version: Int = 1) throws -> [[UInt8]] {
        let encoder = BusJSON.makeEncoder()
        let header = MessageHeader(schemaVersion: version, stream: "raw/peer", seq: UInt64(id))
        return [
            Array(BackupJobRecorded.topic.utf8), Array(try encoder.encode(header)),
            Array(try encoder.encode(BackupJobRecorded.sample(id)))
        ]
    }

    @Test("malformed messages are dropped and counted in /metrics by reason; valid ones keep flowing")
    func malformedAreCounted() async throws {
        try await TestBus.with(.development) { bus in
            let metrics = ServiceMetrics()
            var runtime = RuntimeConfiguration(service: "probe", httpPort: 0, bus: bus.configuration)
            runtime.bus.maxMessageBytes = 64 * 1024
            let connection = try BusConnection(
                configuration: runtime, subscriptions: [.exact(BackupJobRecorded.topic)], metrics: metrics,
                logger: TestBus.quietLogger)
            let (application, _) = ServiceApplication.build(
                configuration: runtime, metrics: metrics, router: Router(), services: [connection],
                checks: [connection.readinessCheck], logger: TestBus.quietLogger)
            let subscriber = try #require(connection.subscriber)
            #expect(await subscriber.waitUntilReady())

            let context = try ZMQContext()
            let peer = try ZMQSocket(context: context, type: .pub)
            try peer.setLinger(milliseconds: 0)
            try peer.connect(bus.endpoints.publish)
            let inbox = TestInbox(subscriber)
            // Until the bus has passed the subscription to this new peer, it drops: send until one arrives.
            for _ in 0..<500 {
                try peer.send(try validFrames(0))
                if await inbox.holds(within: .milliseconds(20), { !$0.isEmpty }) { break }
            }

            let topic = Array(BackupJobRecorded.topic.utf8)
            var valid = try validFrames(1)
            try peer.send([topic, valid[1]])  // two frames
            try peer.send([topic, Array("{not json".utf8), valid[2]])  // header is not JSON
            try peer.send(try validFrames(2, version: 99))  // a schema version from the future
            try peer.send([topic, valid[1], Array(#"{"jobId":"seven"}"#.utf8)])  // body does not fit the type
            valid[2] = Array(repeating: 0x20, count: 100 * 1024) + valid[2]
            try peer.send(valid)  // over the subscriber's size limit
            try peer.send([Array([0xFF, 0xFE]), valid[1], valid[2]])  // topic not UTF-8 (not subscribed: never seen)
            try peer.send(try validFrames(3))

            let received = await inbox.wait { events in
                events.contains { ($0.event as? BackupJobRecorded)?.jobId == 3 }
            }
            #expect(received.compactMap { ($0.event as? BackupJobRecorded)?.jobId }.filter { $0 != 0 } == [3])

            // Not three frames never gets past the bus itself (counted there, per identity and reason).
            #expect(bus.proxy.droppedCounts["none|frame_count"] == 1)
            try await application.test(.live) { client in
                let response = try await client.execute(uri: "/metrics", method: .get)
                let text = String(buffer: response.body)
                for reason in ["invalid_header", "unknown_version", "invalid_body", "oversized"] {
                    #expect(text.contains(#"vectis_bus_dropped_total{reason="\#(reason)"} 1"#), "\(reason)")
                }
                let ready = try await client.execute(uri: "/readyz", method: .get)
                #expect(ready.status == .ok)
                #expect(String(buffer: ready.body).contains(#""bus":true"#))
            }
        }
    }

    @Test("a publisher sending a frame over the bus's MAXMSGSIZE is cut off; the bus and other publishers carry on")
    func oversizedFrameAtTheBus() async throws {
        try await TestBus.with(.development, maxFrameBytes: 64 * 1024) { bus in
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            let subscriber = BusSubscriber(
                context: context, configuration: bus.configuration, filters: [.prefix("backup.")],
                decodeBodies: false, metrics: metrics, logger: TestBus.quietLogger)
            #expect(await subscriber.waitUntilReady())
            let inbox = TestInbox(subscriber)
            let rogue = BusPublisher(
                context: context, configuration: bus.configuration, stream: "rogue/1", metrics: metrics,
                logger: TestBus.quietLogger)
            #expect(await rogue.waitUntilReady())
            // Under the subscriber's own 1 MiB limit, so only the bus's 64 KiB limit can stop it.
            rogue.publish(topic: "backup.huge", body: Array(repeating: 0x20, count: 200 * 1024))
            await rogue.close()

            let honest = BusPublisher(
                context: context, configuration: bus.configuration, stream: "honest/1", metrics: metrics,
                logger: TestBus.quietLogger)
            #expect(await honest.waitUntilReady())
            honest.publish(BackupJobRecorded.sample(1))
            let received = await inbox.wait { $0.contains { $0.header.stream == "honest/1" } }
            #expect(!received.contains { $0.topic == "backup.huge" })
            #expect(bus.proxy.isRunning)
            await honest.close()
            await subscriber.close()
        }
    }
}
