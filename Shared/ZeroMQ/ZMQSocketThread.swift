import Foundation
import Synchronization

/// A dedicated OS thread for one socket loop.
///
/// Blocking libzmq calls must not run on the Swift concurrency pool (it has one thread per core; two here), and
/// sockets must stay on one thread. So each socket loop gets its own thread: create the sockets *inside* `body`,
/// use them there, close them there, and hand results to async code through an `AsyncStream` (or a queue).
/// `finished()` lets async code wait for the loop to end without blocking a pool thread.
public final class ZMQSocketThread: Sendable {
    private struct State {
        var done = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    public let name: String

    private init(name: String) {
        self.name = name
    }

    /// Starts `body` on a new thread named `name`. Socket loops need little stack (1 MiB); a loop that lets libzmq
    /// process subscriptions (the bus) asks for more, since libzmq walks its subscription tries recursively.
    @discardableResult
    public static func start(
        name: String, stackSize: Int = 1 << 20, _ body: @escaping @Sendable () -> Void
    ) -> ZMQSocketThread {
        let handle = ZMQSocketThread(name: name)
        let thread = Thread {
            body()
            handle.markFinished()
        }
        thread.name = name
        thread.stackSize = stackSize
        thread.start()
        return handle
    }

    private func markFinished() {
        let waiters = state.withLock { state in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    public var isFinished: Bool { state.withLock { $0.done } }

    /// Returns once the thread's body has returned.
    public func finished() async {
        await withCheckedContinuation { continuation in
            let alreadyDone = state.withLock { state in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if alreadyDone { continuation.resume() }
        }
    }

    /// Blocks the calling (non-pool) thread until the body has returned, or the timeout passes.
    public func join(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isFinished { return true }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return isFinished
    }
}
