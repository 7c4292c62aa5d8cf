import Foundation
import Testing
import VectisBus
import VectisContracts
import VectisTestSupport
import ZeroMQ

/// What a subscriber holds at once stays bounded in bytes, not only in messages.
@Suite("Subscriber batch bounds")
struct BatchBoundsTests {
    @Test("a backlog of large messages is handed over in batches of at most the byte bound (plus one message), all of it, in order")
    func batchesBoundedInBytes() async throws {
        try await TestBus.with(.development) { bus in
            let context = try ZMQContext()
            let metrics = BusMetrics(factory: bus.metrics.factory)
            var configuration = bus.configuration
            configuration.maxBatchBytes = 64 * 1024
            let subscriber = BusSubscriber(
                context: context, configuration: configuration, filters: [.prefix("backup.")], decodeBodies: false,
                metrics: metrics, logger: TestBus.quietLogger)
            #expect(await subscriber.waitUntilReady())
            let publisher = BusPublisher(
                context: context, configuration: bus.configuration, stream: "large/1", metrics: metrics, logger: TestBus.quietLogger)
            #expect(await publisher.waitUntilReady())
            // 60 messages of 8 KiB arrive while nobody takes a batch: the subscriber's thread waits, they queue up.
            let body = Array(repeating: UInt8(ascii: "x"), count: 8 * 1024)
            for _ in 0..<60 { publisher.publish(topic: "backup.large", body: body) }
            try await Task.sleep(for: .milliseconds(500))
            var received = 0
            var largest = 0
            var seqs: [UInt64] = []
            for await batch in subscriber.batches {
                largest = max(largest, batch.reduce(0) { $0 + $1.message.body.count })
                received += batch.count
                seqs += batch.map(\.header.seq)
                if received >= 60 { break }
            }
            #expect(received == 60)
            #expect(seqs == Array(1...60))
            #expect(largest <= 64 * 1024 + 8 * 1024, "a batch held \(largest) bytes of bodies")
            #expect(largest >= 32 * 1024, "the backlog was taken in a few large batches, not one by one")
            await publisher.close()
            await subscriber.close()
        }
    }
}
