import CZeroMQ

/// A libzmq context: the I/O threads that carry every socket made from it.
///
/// Contexts are thread-safe (unlike sockets), so this type is `Sendable`. Sockets keep their context alive;
/// the context is terminated when the last of them is gone. Call ``shutdown()`` to make every blocking call on
/// its sockets return ``ZMQError/isTerminated`` — the way a socket thread learns it must stop.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init(ioThreads: Int32 = 1) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        if ioThreads != 1 {
            guard zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) == 0 else { throw ZMQError.last("set ZMQ_IO_THREADS") }
        }
    }

    /// Unblocks every blocking call on this context's sockets with ETERM. Safe from any thread, idempotent.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        // Retry on EINTR: a signal during termination must not leak the context.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    /// The libzmq version this process runs against, e.g. "4.3.4".
    public static var libraryVersion: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
