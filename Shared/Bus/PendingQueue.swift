import Foundation

/// A queue filled by any thread and drained, all at once, by one socket thread.
final class PendingQueue<Element: Sendable>: @unchecked Sendable {
    // NSCondition guards `items` and `closed`; @unchecked because the lock does the work the compiler can't see.
    private let condition = NSCondition()
    private var items: [Element] = []
    private var closed = false

    /// Returns false once the queue is closed.
    @discardableResult
    func append(_ item: Element) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return false }
        items.append(item)
        if items.count == 1 { condition.signal() }
        return true
    }

    /// Appends under the lock with a value computed there, so order and numbering agree.
    func append(_ make: () -> Element) -> Element? {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return nil }
        let item = make()
        items.append(item)
        if items.count == 1 { condition.signal() }
        return item
    }

    /// Everything queued, waiting up to `timeout` seconds for something to arrive. Empty when the wait timed out
    /// or the queue is closed and drained.
    func takeAll(timeout: TimeInterval) -> (items: [Element], closed: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if items.isEmpty && !closed {
            _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
        }
        let taken = items
        items.removeAll(keepingCapacity: true)
        return (taken, closed)
    }

    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }

    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// A counting semaphore that, unlike `DispatchSemaphore`, may be released with permits still taken.
final class Permits: @unchecked Sendable {
    // NSCondition guards `available`.
    private let condition = NSCondition()
    private var available: Int

    init(_ count: Int) {
        available = count
    }

    /// Takes a permit, waiting up to `timeout` seconds; false when none became free.
    func acquire(timeout: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        while available == 0 {
            if !condition.wait(until: deadline) { return false }
        }
        available -= 1
        return true
    }

    func release() {
        condition.lock()
        available += 1
        condition.signal()
        condition.unlock()
    }
}
