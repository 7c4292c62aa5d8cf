import Foundation
import Synchronization

/// The events this service has just published, handed to whoever watches live (the Server-Sent Events streams
/// of `GET /v1/events`), in the order the relay sent them. Each watcher has a bounded queue: one that falls behind
/// is ended rather than slowing the relay or growing without limit — it reconnects and reads the current state.
public final class EventBroadcast: Sendable {
    /// One published event: its topic and its JSON body, exactly as on the bus.
    public struct Item: Sendable {
        public var topic: String
        public var body: [UInt8]

        public init(topic: String, body: [UInt8]) {
            self.topic = topic
            self.body = body
        }
    }

    /// The most watchers at once; more are refused (`subscribe` answers nil).
    public let maxWatchers: Int
    /// Events queued for one watcher before it is ended as too slow.
    public let queueLimit: Int
    private struct Watcher {
        var topics: Set<String>?
        var continuation: AsyncStream<Item>.Continuation
    }
    private let watchers = Mutex<[UUID: Watcher]>([:])

    public init(maxWatchers: Int = 64, queueLimit: Int = 1_000) {
        self.maxWatchers = maxWatchers
        self.queueLimit = queueLimit
    }

    public var watcherCount: Int { watchers.withLock { $0.count } }

    /// A stream of the events on `topics` (nil: all) from now on; nil when `maxWatchers` are already watching.
    public func subscribe(topics: Set<String>?) -> AsyncStream<Item>? {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingOldest(queueLimit))
        let admitted = watchers.withLock { watchers -> Bool in
            guard watchers.count < maxWatchers else { return false }
            watchers[id] = Watcher(topics: topics, continuation: continuation)
            return true
        }
        guard admitted else { return nil }
        continuation.onTermination = { [weak self] _ in _ = self?.watchers.withLock { $0.removeValue(forKey: id) } }
        return stream
    }

    /// Hands `items` to every watcher of their topics; a watcher whose queue is full is ended.
    public func publish(_ items: [Item]) {
        guard !items.isEmpty else { return }
        let current = watchers.withLock { Array($0.values) }
        for watcher in current {
            for item in items where watcher.topics?.contains(item.topic) ?? true {
                if case .dropped = watcher.continuation.yield(item) {
                    watcher.continuation.finish()
                    break
                }
            }
        }
    }
}
