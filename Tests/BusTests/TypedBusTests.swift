import Foundation
import Testing
import VectisBus
import VectisContracts
import VectisRuntime
import VectisTestSupport
import ZeroMQ

@Suite("Typed publish and subscribe through vectis-bus")
struct TypedBusTests {
    @Test("events arrive decoded, in order, numbered 1, 2, 3… in the publisher's stream")
    func typedDelivery() async throws {
        try await TestBus.with(.development) { bus in
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            let subscriber = BusSubscriber(
                context: context, configuration: bus.configuration, filters: [.exact(BackupJobRecorded.topic)],
                metrics: metrics, logger: TestBus.quietLogger)
            #expect(await subscriber.waitUntilReady())
            let inbox = TestInbox(subscriber)
            let publisher = BusPublisher(
                context: context, configuration: bus.configuration, stream: "backups/test", metrics: metrics,
                logger: TestBus.quietLogger)
            for id in 1...2_000 {
                publisher.publish(BackupJobRecorded.sample(Int64(id)), tenant: "msp-a", customerKey: "org:1")
            }
            let received = await inbox.wait { $0.count >= 2_000 }
            #expect(received.count == 2_000)
            #expect(received.map(\.header.seq) == (1...2_000).map { UInt64($0) })
            #expect(received.allSatisfy { $0.header.stream == "backups/test" && $0.header.tenant == "msp-a" })
            let events = received.compactMap { $0.event as? BackupJobRecorded }
            #expect(events == (1...2_000).map { BackupJobRecorded.sample(Int64($0)) })
            await publisher.close()
            await subscriber.close()
        }
    }

    @Test("a subscriber for backup.job. gets neither backup.jobs.x nor alert.raised; an exact topic is exact")
    func prefixSafety() async throws {
        try await TestBus.with(.development) { bus in
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            let prefixed = BusSubscriber(
                context: context, configuration: bus.configuration, filters: [.prefix("backup.job.")],
                decodeBodies: false, metrics: metrics, logger: TestBus.quietLogger)
            let exact = BusSubscriber(
                context: context, configuration: bus.configuration, filters: [TopicFilter("backup.job.recorded")],
                decodeBodies: false, metrics: metrics, logger: TestBus.quietLogger)
            #expect(await prefixed.waitUntilReady())
            #expect(await exact.waitUntilReady())
            let prefixedInbox = TestInbox(prefixed)
            let exactInbox = TestInbox(exact)
            let publisher = BusPublisher(
                context: context, configuration: bus.configuration, stream: "test/prefix", metrics: metrics,
                logger: TestBus.quietLogger)
            publisher.publish(topic: "backup.jobs.x", body: Array("{}".utf8))
            publisher.publish(topic: "backup.job.recordedx", body: Array("{}".utf8))
            publisher.publish(
                AlertRaised(
                    alert: AlertSnapshot(
                        alertId: "a", type: "backup-job-failure", severity: .high, state: .open,
                        subject: AlertSubject(customer: CustomerRef(key: "k", name: "n"), deviceSerial: "s"), occurrences: 1,
                        firstSeenAt: Date(), lastSeenAt: Date())))
            publisher.publish(BackupJobRecorded.sample(1))

            let viaPrefix = await prefixedInbox.wait { $0.contains { $0.topic == BackupJobRecorded.topic } }
            #expect(viaPrefix.map(\.topic) == ["backup.job.recordedx", "backup.job.recorded"])
            let viaExact = await exactInbox.wait { $0.contains { $0.topic == BackupJobRecorded.topic } }
            #expect(viaExact.map(\.topic) == ["backup.job.recorded"])
            await publisher.close()
            await prefixed.close()
            await exact.close()
        }
    }

    @Test("topic filters: a prefix must end with a dot, anything else is exact")
    func topicFilterParsing() {
        #expect(TopicFilter("backup.job.") == .prefix("backup.job."))
        #expect(TopicFilter("backup.job") == .exact("backup.job"))
        #expect(TopicFilter("") == .prefix(""))
        #expect(!TopicFilter("backup.job.").matches("backup.jobs.x"))
        #expect(!TopicFilter("backup.job").matches("backup.jobs"))
    }
}
