import ServiceLifecycle

/// Runs `group` while `body` runs, then shuts it down gracefully — also when `body` throws. Cancelling a group
/// instead can crash the whole test process: a Hummingbird server whose task is cancelled drops a connection it
/// has accepted but not yet served, and NIO traps on it ("Deinited NIOAsyncWriter without calling finish()",
/// swift-nio#2637), so one failing test would take every other result with it.
public func withRunning<T>(_ group: ServiceGroup, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return try outcome.get()
    }
}
