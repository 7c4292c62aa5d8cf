import Foundation
import Testing
import VectisDelivery

/// What a live watcher gets: its topics, in order; too many watchers are refused; one that falls behind is ended.
@Suite("Live event broadcast")
struct EventBroadcastTests {
    static func item(_ topic: String, _ n: Int) -> EventBroadcast.Item {
        EventBroadcast.Item(topic: topic, body: Array("{\"n\":\(n)}".utf8))
    }

    @Test("a watcher gets the events of its topics in order; a watcher of every topic gets all")
    func topics() async throws {
        let broadcast = EventBroadcast()
        let alerts = try #require(broadcast.subscribe(topics: ["alert.raised"]))
        let everything = try #require(broadcast.subscribe(topics: nil))
        broadcast.publish([Self.item("alert.raised", 1), Self.item("ticket.opened", 2), Self.item("alert.raised", 3)])
        var seen: [Int] = []
        for await item in alerts {
            seen.append(Int(String(decoding: item.body, as: UTF8.self).filter(\.isNumber)) ?? -1)
            if seen.count == 2 { break }
        }
        #expect(seen == [1, 3])
        var all: [String] = []
        for await item in everything {
            all.append(item.topic)
            if all.count == 3 { break }
        }
        #expect(all == ["alert.raised", "ticket.opened", "alert.raised"])
    }

    @Test("more watchers than allowed are refused; one that leaves frees its place")
    func bounded() async throws {
        let broadcast = EventBroadcast(maxWatchers: 2)
        var first: AsyncStream<EventBroadcast.Item>? = broadcast.subscribe(topics: nil)
        let second = broadcast.subscribe(topics: nil)
        #expect(first != nil && second != nil)
        #expect(broadcast.subscribe(topics: nil) == nil, "a third is refused")
        first = nil  // the stream goes away: its watcher is removed
        #expect(await eventually { broadcast.watcherCount == 1 })
        #expect(broadcast.subscribe(topics: nil) != nil)
    }

    @Test("a watcher that does not keep up is ended, not queued for without limit")
    func slow() async throws {
        let broadcast = EventBroadcast(queueLimit: 10)
        let slow = try #require(broadcast.subscribe(topics: nil))
        broadcast.publish((0..<50).map { Self.item("backup.job.recorded", $0) })
        var received = 0
        for await _ in slow { received += 1 }
        #expect(received == 10, "what fitted in its queue, then the end")
        #expect(broadcast.watcherCount == 0)
    }

    /// Waits up to 5 s for `condition`.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }
}
