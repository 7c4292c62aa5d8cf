import Foundation
import GRDB
import Testing
import VectisBus
import VectisContracts
import VectisDelivery
import VectisTestSupport
import ZeroMQ

/// What a consumer believes and what it survives: forged or absurd control messages, a producer whose
/// database is replaced, and a database that is busy for a while.
@Suite("Trusting the bus only as far as it can be checked", .serialized)
struct BusTrustTests {
    /// Raw JSON bodies a peer could send; none may crash a service or move a cursor.
    static func hostileControlBodies(owner: String, reader: String, topic: String) -> [(topic: String, body: String)] {
        let max63 = "9223372036854775807"
        let max64 = "18446744073709551615"
        let over63 = "9223372036854775808"
        var bodies: [(String, String)] = []
        for first in ["0", "-1", max63, max64, over63, "1e300", "\"1\""] {
            bodies.append(
                (
                    BusReplayUnavailable.topic,
                    """
                    {"stream":"\(owner)","topic":"\(topic)","fromSeq":1,"firstAvailableSeq":\(first),"requestedBy":"\(reader)"}
                    """
                ))
        }
        for (from, to) in [("0", "null"), ("-1", "null"), (max63, "null"), (over63, "null"), (max64, "null"), ("5", "3"), ("1", max64)] {
            bodies.append(
                (
                    BusReplayRequested.topic,
                    """
                    {"stream":"\(owner)","topic":"\(topic)","fromSeq":\(from),"toSeq":\(to),"requestedBy":"\(reader)","reason":"gap"}
                    """
                ))
        }
        for latest in ["0", max63, max64, "-1"] {
            bodies.append(
                (
                    ServiceHeartbeat.topic,
                    """
                    {"service":"test","instance":"x","stream":"\(owner)","version":"1","uptimeSeconds":1,"latestSeq":{"\(topic)":\(latest)},"intervalSeconds":1}
                    """
                ))
        }
        bodies.append(
            (
                ServiceHeartbeat.topic,
                """
                {"service":"test","instance":"x","stream":"\(owner)","version":"1","uptimeSeconds":1e999,"latestSeq":{},"intervalSeconds":-1}
                """
            ))
        return bodies
    }

    @Test("control messages with 0, -1, 2^63-1, 2^64-1 and reversed ranges leave every consumer alive and every cursor where it was")
    func hostileControlMessages() async throws {
        try await TestBus.with(.development) { testBus in
            let owner = try ReliableNode(testBus, instance: "owner")
            let reader = try ReliableNode(testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await owner.waitUntilReady())
            #expect(await reader.waitUntilReady())
            try await owner.publish(1...5)
            #expect(try await eventually { try reader.applied().count == 5 })
            let topic = Shard.wireTopic(BackupJobRecorded.topic, tenant: "default")
            // The in-memory cursor moves just after the commit that the applied table shows.
            #expect(await eventually { reader.bus.consumer.cursors.values.contains(5) })
            let before = reader.bus.consumer.cursors
            // Sent twice: once from a stream of its own, once naming the owner's stream in the header (the bus
            // cannot stop that without CURVE; the consumer's own checks must).
            let context = try ZMQContext()
            let attacker = BusPublisher(
                context: context, configuration: testBus.configuration, stream: "attacker/1", metrics: BusMetrics(),
                logger: TestBus.quietLogger)
            #expect(await attacker.waitUntilReady())
            let codec = BusFrameCodec()
            var frames: [[[UInt8]]] = []
            for (controlTopic, body) in Self.hostileControlBodies(owner: owner.stream, reader: reader.stream, topic: topic) {
                for stream in ["attacker/1", owner.stream] {
                    frames.append(
                        try codec.encode(
                            topic: controlTopic, header: MessageHeader(schemaVersion: 1, stream: stream, seq: 0), body: Array(body.utf8)))
                }
            }
            // A data message numbered past Int64.max, in the owner's name.
            frames.append([
                Array(topic.utf8),
                Array(
                    """
                    {"messageId":"6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11","schemaVersion":1,"seq":18446744073709551615,"stream":"\(owner.stream)","tenant":"default","timestamp":"2026-11-29T04:03:57.123Z"}
                    """.utf8), try BusJSON.makeEncoder().encode(BackupJobRecorded.sample(99)).map { $0 }
            ])
            for _ in 0..<3 { attacker.publish(frames: frames) }
            #expect(await eventually { reader.counter("vectis_bus_dropped_total{reason=\"invalid_value\"}") > 0 })
            try await Task.sleep(for: .milliseconds(500))
            #expect(reader.bus.consumer.cursors == before, "no cursor moved")
            #expect(try reader.applied().count == 5)
            // Both are alive and still exact: the next real event arrives once.
            try await owner.publish(6...6)
            #expect(try await eventually { try reader.applied().compactMap(\.job) == [1, 2, 3, 4, 5, 6] })
            #expect(reader.counter("vectis_bus_replay_unavailable_total") == 0)
            await attacker.close()
            try await reader.stop()
            try await owner.stop()
        }
    }

    @Test("a producer whose database is lost numbers from 1 under a new epoch; its next events are applied, nothing twice")
    func newEpoch() async throws {
        try await TestBus.with(.development) { testBus in
            var owner = try ReliableNode(testBus, instance: "owner")
            let reader = try ReliableNode(testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await owner.waitUntilReady())
            #expect(await reader.waitUntilReady())
            try await owner.publish(1...3)
            #expect(try await eventually { try reader.applied().count == 3 })
            try await owner.stop()
            // Same stream, fresh database: seq 1 and 2 again, but new facts.
            owner = try ReliableNode(testBus, instance: "owner")
            #expect(await owner.waitUntilReady())
            try await owner.publish(10...11)
            #expect(try await eventually { try reader.applied().compactMap(\.job) == [1, 2, 3, 10, 11] })
            #expect(reader.counter("vectis_bus_epoch_changes_total") == 1)
            try await owner.publish(12...12)
            #expect(try await eventually { try reader.applied().compactMap(\.job) == [1, 2, 3, 10, 11, 12] })
            try await reader.stop()
            try await owner.stop()
        }
    }

    @Test("a handler failing with SQLITE_BUSY three times then succeeding applies the message once, in order, nothing dead-lettered")
    func busyIsRetried() async throws {
        try await TestBus.with(.development) { testBus in
            let owner = try ReliableNode(testBus, instance: "owner")
            let reader = try ReliableNode(
                busConfiguration: testBus.configuration, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)],
                busyJob: 4, busyFailures: 3)
            #expect(await owner.waitUntilReady())
            #expect(await reader.waitUntilReady())
            try await owner.publish(1...8)
            #expect(try await eventually { try reader.applied().count == 8 })
            #expect(try reader.applied().compactMap(\.job) == [1, 2, 3, 4, 5, 6, 7, 8])
            let deadLetters = try await reader.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bus_dead_letter") }
            #expect(deadLetters == 0)
            #expect(reader.counter("vectis_bus_apply_retries_total") == 3)
            #expect(reader.bus.consumer.applyFailureStreak == 0)
            try await reader.stop()
            try await owner.stop()
        }
    }
}
