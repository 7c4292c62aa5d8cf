import Foundation
import GRDB
import Testing
import VectisBus
import VectisContracts
import VectisDelivery
import VectisTestSupport
import ZeroMQ

@Suite("Reliable delivery: outbox, exactly-once apply, replay")
struct ReliableDeliveryTests {
    @Test("an event appended in a transaction that rolls back is never published")
    func outboxIsTransactional() async throws {
        try await TestBus.with(.development) { testBus in
            let owner = try ReliableNode(testBus, instance: "owner")
            let reader = try ReliableNode(testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await owner.waitUntilReady())
            #expect(await reader.waitUntilReady())
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await owner.database.write { [bus = owner.bus] db in
                    try db.execute(sql: "INSERT INTO jobs (id) VALUES (1)")
                    try bus.outbox.append(BackupJobRecorded.sample(1), in: db)
                    throw Refused()
                }
            }
            try await owner.publish(2...2)
            #expect(try await eventually { try reader.applied().count == 1 })
            #expect(try reader.applied().map(\.job) == [2])
            #expect(try reader.applied().map(\.seq) == [1], "the rolled-back append did not use up a seq")
            try await reader.stop()
            try await owner.stop()
        }
    }

    @Test("the same message twice, and a replay overlapping live traffic, change state once")
    func duplicatesNeverApplyTwice() async throws {
        try await TestBus.with(.development) { testBus in
            let reader = try ReliableNode(testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await reader.waitUntilReady())

            // A raw peer delivers seq 1, seq 1 again, then seq 2.
            let context = try ZMQContext()
            let peer = try ZMQSocket(context: context, type: .pub)
            try peer.setLinger(milliseconds: 0)
            try peer.connect(testBus.endpoints.publish)
            let codec = BusFrameCodec()
            func frames(_ seq: UInt64) throws -> [[UInt8]] {
                try codec.encode(
                    BackupJobRecorded.sample(Int64(seq)), header: MessageHeader(schemaVersion: 1, stream: "raw/1", seq: seq))
            }
            // Slow joiner: repeat seq 1 until it lands; the repeats are themselves duplicates.
            for _ in 0..<500 {
                try peer.send(try frames(1))
                if try await eventually(timeout: .milliseconds(20), { try reader.applied().count == 1 }) { break }
            }
            try peer.send(try frames(1))
            try peer.send(try frames(2))
            #expect(try await eventually { try reader.applied().count == 2 })
            #expect(await eventually { reader.counter("vectis_bus_duplicates_skipped_total") >= 1 })

            // An owner with an outbox; then a replay from seq 1 re-sends everything over live traffic.
            let owner = try ReliableNode(testBus, instance: "owner")
            #expect(await owner.waitUntilReady())
            try await owner.publish(1...500)
            #expect(try await eventually { try reader.applied().filter { $0.stream == owner.stream }.count == 500 })
            let duplicatesBefore = reader.counter("vectis_bus_duplicates_skipped_total")
            // Asked again until served, as a consumer does: the owner serves a live requester, not twice in a moment.
            let servedBefore = owner.counter("vectis_bus_replays_served_total")
            for _ in 0..<50 {
                reader.bus.connection.publisher.publishControl(
                    BusReplayRequested(
                        stream: owner.stream, topic: Shard.wireTopic(BackupJobRecorded.topic, tenant: "default"), fromSeq: 1,
                        requestedBy: reader.stream, reason: .gap))
                if await eventually(timeout: .milliseconds(400), { owner.counter("vectis_bus_replays_served_total") > servedBefore }) {
                    break
                }
            }
            try await owner.publish(501...600)
            #expect(try await eventually { try reader.applied().filter { $0.stream == owner.stream }.count == 600 })
            #expect(await eventually { reader.counter("vectis_bus_duplicates_skipped_total") >= duplicatesBefore + 500 })
            #expect(try reader.applied().filter { $0.stream == owner.stream }.map(\.seq) == Array(1...600))
            #expect(owner.counter("vectis_bus_replays_served_total") >= 1)
            try await owner.stop()
            try await reader.stop()
        }
    }

    @Test(
        "a backlog travels in bundles and is applied once each, in order; its replay is bundled and marked; bundles of 1 send events alone")
    func bundles() async throws {
        for bundleEvents in [BusBundle.defaultEvents, 1] {
            try await TestBus.with(.development) { testBus in
                let delivery = DeliveryConfiguration(
                    heartbeatInterval: .milliseconds(200), replayRetryAfter: .milliseconds(300), bundleEvents: bundleEvents)
                // What travels, seen by a plain socket on the bus.
                let context = try ZMQContext()
                let wire = try ZMQSocket(context: context, type: .sub)
                try wire.setLinger(milliseconds: 0)
                try wire.subscribe(BackupJobRecorded.topic)
                try wire.connect(testBus.endpoints.subscribe)
                let owner = try ReliableNode(testBus, instance: "owner", delivery: delivery)
                #expect(await owner.waitUntilReady())
                try await Task.sleep(for: .milliseconds(300))
                let codec = BusFrameCodec()
                var messages = (live: 0, replayed: 0)
                var events = (live: [UInt64](), replayed: [UInt64]())
                func drainWire() throws {
                    while let frames = try wire.receiveMessage(dontWait: true) {
                        guard case .success(let decoded) = codec.decodeMessages(frames: frames) else {
                            Issue.record("the relay sent a message the codec refuses")
                            continue
                        }
                        let replay = decoded[0].header.replay == true
                        #expect(decoded.allSatisfy { ($0.header.replay == true) == replay }, "a bundle is all replay or none")
                        if replay {
                            messages.replayed += 1
                            events.replayed += decoded.map(\.header.seq)
                        } else {
                            messages.live += 1
                            events.live += decoded.map(\.header.seq)
                        }
                    }
                }
                try await owner.publish(1...200)
                // Sent before the reader exists: it misses all 200, learns of them from the next one, and asks for a replay.
                #expect(
                    try await eventually {
                        try drainWire()
                        return events.live.count == 200
                    })
                let reader = try ReliableNode(
                    testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)], delivery: delivery)
                #expect(await reader.waitUntilReady())
                try await owner.publish(201...201)
                #expect(try await eventually { try reader.applied().compactMap(\.job) == Array(1...201) })
                try await Task.sleep(for: .milliseconds(300))
                #expect(try reader.applied().count == 201, "nothing applied twice")
                try drainWire()
                #expect(events.live == Array(1...201))
                #expect(Array(events.replayed.prefix(200)) == Array(1...200))
                if bundleEvents == 1 {
                    #expect(messages.live == 201)
                    #expect(messages.replayed == events.replayed.count)
                } else {
                    #expect(messages.live <= 201 / 4, "\(messages.live) messages for 201 events")
                    #expect(messages.replayed <= events.replayed.count / 4, "\(messages.replayed) for \(events.replayed.count)")
                }
                wire.close()
                try await reader.stop()
                try await owner.stop()
            }
        }
    }

    @Test("a gap is not applied past: the consumer asks for a replay from the first missing seq")
    func gapAsksForReplay() async throws {
        try await TestBus.with(.development) { testBus in
            let reader = try ReliableNode(testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await reader.waitUntilReady())
            let context = try ZMQContext()
            let metrics = BusMetrics()
            let watcher = BusSubscriber(
                context: context, configuration: testBus.configuration, filters: [.exact(BusReplayRequested.topic)],
                metrics: metrics, logger: TestBus.quietLogger)
            #expect(await watcher.waitUntilReady())
            let requests = TestInbox(watcher)
            let peer = try ZMQSocket(context: context, type: .pub)
            try peer.setLinger(milliseconds: 0)
            try peer.connect(testBus.endpoints.publish)
            let codec = BusFrameCodec()
            for _ in 0..<500 {
                try peer.send(
                    try codec.encode(
                        BackupJobRecorded.sample(1), header: MessageHeader(schemaVersion: 1, stream: "raw/2", seq: 1)))
                if try await eventually(timeout: .milliseconds(20), { try reader.applied().count == 1 }) { break }
            }
            try peer.send(
                try codec.encode(
                    BackupJobRecorded.sample(4), header: MessageHeader(schemaVersion: 1, stream: "raw/2", seq: 4)))
            let seen = await requests.wait { events in
                events.contains { ($0.event as? BusReplayRequested)?.stream == "raw/2" }
            }
            let request = try #require(seen.compactMap { $0.event as? BusReplayRequested }.first { $0.stream == "raw/2" })
            #expect(request.fromSeq == 2)
            #expect(request.topic == BackupJobRecorded.topic)
            #expect(request.reason == .gap)
            #expect(request.requestedBy == reader.stream)
            #expect(try reader.applied().map(\.seq) == [1], "seq 4 waits for 2 and 3")
            #expect(reader.counter("vectis_bus_gaps_detected_total") >= 1)
            await watcher.close()
            try await reader.stop()
        }
    }

    @Test("a late subscriber whose range was pruned is told so, counts it, and applies what is left")
    func replayUnavailable() async throws {
        try await TestBus.with(.development) { testBus in
            var delivery = DeliveryConfiguration(heartbeatInterval: .milliseconds(200), replayRetryAfter: .milliseconds(300))
            delivery.outboxMaxRows = 100
            delivery.pruneInterval = .milliseconds(100)
            delivery.resynchronisation = "the next full poll re-announces every agent"
            let owner = try ReliableNode(testBus, instance: "owner", delivery: delivery)
            #expect(await owner.waitUntilReady())
            try await owner.publish(1...1_000)
            // Retention keeps the newest 100 sent rows.
            #expect(
                try await eventually {
                    try owner.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bus_outbox") } == 100
                })

            let reader = try ReliableNode(testBus, instance: "late", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await reader.waitUntilReady())
            // The owner's heartbeat shows it at seq 1000; the reader asks from 1; 1…900 are gone.
            #expect(try await eventually { try reader.applied().count == 100 })
            #expect(try reader.applied().map(\.seq) == Array(901...1_000))
            #expect(reader.counter("vectis_bus_replay_unavailable_total") == 1)
            try await reader.stop()
            try await owner.stop()
        }
    }

    @Test("a loop woken by a signal waits its full timeout the next time (no spin once something has happened)")
    func wakeSignalDoesNotSpin() async throws {
        let wake = WakeSignal()
        wake.signal()
        await wake.wait(timeout: .seconds(5))  // the pending signal: at once
        var spurious = 0
        let started = ContinuousClock.now
        // Signalled waits whose timers are then cancelled used to leave a signal behind: count early returns.
        for _ in 0..<5 {
            Task {
                try? await Task.sleep(for: .milliseconds(20))
                wake.signal()
            }
            await wake.wait(timeout: .seconds(5))
            let before = ContinuousClock.now
            await wake.wait(timeout: .milliseconds(200))
            if ContinuousClock.now - before < .milliseconds(150) { spurious += 1 }
        }
        #expect(spurious == 0, "a wait after a signalled one returned early \(spurious) times")
        #expect(ContinuousClock.now - started >= .milliseconds(1_000))
    }

    @Test("a backlog of committed events raises the outbox alarm once, and the gauges show it drain")
    func outboxAlarm() async throws {
        try await TestBus.with(.development) { testBus in
            var delivery = DeliveryConfiguration(heartbeatInterval: .milliseconds(200), replayRetryAfter: .milliseconds(300))
            delivery.outboxAlarmRows = 1_000
            let owner = try ReliableNode(testBus, instance: "owner", delivery: delivery)
            #expect(await owner.waitUntilReady())
            try await owner.publish(1...10)
            #expect(owner.counter("vectis_bus_outbox_alarms_total") == 0, "a few rows are no backlog")
            // 10,000 in one transaction: after the relay's first batch of 2,000, 8,000 still wait.
            try await owner.publish(11...10_010)
            #expect(try await eventually { owner.counter("vectis_bus_outbox_alarms_total") == 1 })
            #expect(try await eventually { owner.metrics.render().contains("vectis_bus_outbox_depth 0") })
            try await owner.publish(10_011...10_020)
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(owner.counter("vectis_bus_outbox_alarms_total") == 1, "raised once per episode, not once a second")
            try await owner.stop()
        }
    }

    @Test("a middle service publishes what it applied in the same transaction; downstream gets each exactly once")
    func chainedServices() async throws {
        try await TestBus.with(.development) { testBus in
            let source = try ReliableNode(testBus, instance: "source")
            let middle = try ReliableNode(
                testBus, instance: "middle", subscriptions: [.exact(BackupJobRecorded.topic)], forwardAsRuns: true)
            let sink = try ReliableNode(testBus, instance: "sink", subscriptions: [.exact(BackupRunObserved.topic)])
            for node in [source, middle, sink] { #expect(await node.waitUntilReady()) }
            try await source.publish(1...300)
            #expect(try await eventually { try sink.applied().count == 300 })
            #expect(try sink.applied().map(\.job) == (1...300).map { Int($0) })
            #expect(try sink.applied().allSatisfy { $0.stream == middle.stream })
            // Middle's outbox numbered them 1…300 as it applied them.
            #expect(try sink.applied().map(\.seq) == Array(1...300))
            for node in [sink, middle, source] { try await node.stop() }
        }
    }

    @Test(
        "a message its handler refuses (after writing) is kept as a dead letter with nothing it wrote; the rest of the batch is applied once and the stream goes on"
    )
    func deadLetter() async throws {
        try await TestBus.with(.development) { testBus in
            let owner = try ReliableNode(testBus, instance: "owner")
            let reader = try ReliableNode(
                testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)], refuseJob: 13)
            #expect(await owner.waitUntilReady())
            #expect(await reader.waitUntilReady())
            try await owner.publish(1...50)
            #expect(try await eventually { try reader.applied().count == 49 })
            #expect(try reader.applied().compactMap(\.job) == (1...50).filter { $0 != 13 }.map { Int($0) })
            let kept = try reader.database.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, error FROM bus_dead_letter")
            }
            #expect(kept.count == 1)
            #expect(kept.first?["seq"] == 13)
            #expect(reader.counter("vectis_bus_apply_failures_total") == 1)
            try await owner.publish(51...51)
            #expect(try await eventually { try reader.applied().count == 50 })
            try await reader.stop()
            try await owner.stop()
        }
    }

    @Test("2,000 replay requests re-send a bounded number of messages, and a real gap replay still completes")
    func replayStormThrottled() async throws {
        try await TestBus.with(.development) { testBus in
            let owner = try ReliableNode(testBus, instance: "owner")
            let noisy = try ReliableNode(testBus, instance: "noisy")
            #expect(await owner.waitUntilReady())
            #expect(await noisy.waitUntilReady())
            try await owner.publish(1...10)
            let topic = Shard.wireTopic(BackupJobRecorded.topic, tenant: "default")
            // A live requester asking for everything 1,000 times, and 1,000 requests naming requesters that are not
            // the stream sending them.
            let publisher = noisy.bus.connection.publisher
            for index in 0..<2_000 {
                publisher.publishControl(
                    BusReplayRequested(
                        stream: owner.stream, topic: topic, fromSeq: 1,
                        requestedBy: index % 2 == 0 ? noisy.stream : "storm/\(index)", reason: .gap))
            }
            #expect(await eventually { owner.counter("vectis_bus_control_rejected_total{reason=\"requester_mismatch\"}") == 1_000 })
            let resent = owner.counter("vectis_bus_replayed_messages_total")
            #expect(resent < 10_000, "re-sent \(resent) messages for 2,000 requests")
            // A reader that missed everything still gets it all through replay.
            let reader = try ReliableNode(testBus, instance: "reader", subscriptions: [.exact(BackupJobRecorded.topic)])
            #expect(await reader.waitUntilReady())
            #expect(try await eventually { try reader.applied().count == 10 })
            try await reader.stop()
            try await noisy.stop()
            try await owner.stop()
        }
    }
}
