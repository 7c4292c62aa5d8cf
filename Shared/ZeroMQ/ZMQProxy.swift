import CZeroMQ

/// `zmq_proxy_steerable`: forwards frontend ⇄ backend in the calling thread, copies every frame to `capture`,
/// and obeys PAUSE / RESUME / TERMINATE / STATISTICS commands arriving on `control`.
public enum ZMQProxy {
    /// Runs until a TERMINATE command (returns normally) or until the context is shut down (throws ETERM).
    /// A signal interrupting the proxy restarts it; the sockets keep their queues, so nothing is lost.
    public static func runSteerable(
        frontend: ZMQSocket, backend: ZMQSocket, capture: ZMQSocket?, control: ZMQSocket
    ) throws {
        while true {
            let rc = zmq_proxy_steerable(frontend.handle, backend.handle, capture?.handle, control.handle)
            if rc == 0 { return }
            let error = ZMQError.last("zmq_proxy_steerable")
            if error.isInterrupted { continue }
            throw error
        }
    }

    /// The eight counters a STATISTICS command answers with.
    public struct Statistics: Sendable, Equatable {
        public var frontendReceivedMessages: UInt64 = 0
        public var frontendReceivedBytes: UInt64 = 0
        public var frontendSentMessages: UInt64 = 0
        public var frontendSentBytes: UInt64 = 0
        public var backendReceivedMessages: UInt64 = 0
        public var backendReceivedBytes: UInt64 = 0
        public var backendSentMessages: UInt64 = 0
        public var backendSentBytes: UInt64 = 0

        public init() {}

        /// The counters in libzmq's reply order.
        public var values: [UInt64] {
            [
                frontendReceivedMessages, frontendReceivedBytes, frontendSentMessages, frontendSentBytes,
                backendReceivedMessages, backendReceivedBytes, backendSentMessages, backendSentBytes,
            ]
        }

        /// Parses the 8-frame reply (each frame a native-endian uint64).
        public init?(frames: [[UInt8]]) {
            guard frames.count == 8, frames.allSatisfy({ $0.count == 8 }) else { return nil }
            let values = frames.map { frame in frame.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } }
            frontendReceivedMessages = values[0]
            frontendReceivedBytes = values[1]
            frontendSentMessages = values[2]
            frontendSentBytes = values[3]
            backendReceivedMessages = values[4]
            backendReceivedBytes = values[5]
            backendSentMessages = values[6]
            backendSentBytes = values[7]
        }
    }
}
