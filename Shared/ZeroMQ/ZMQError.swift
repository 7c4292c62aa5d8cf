import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A libzmq call that failed, with the library's own explanation (`zmq_strerror`).
public struct ZMQError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The `errno` value libzmq reported.
    public let code: Int32
    /// What the wrapper was doing, e.g. `bind tcp://*:5550`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// Captures `zmq_errno()` right after a failed call.
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation())
    }

    public var message: String { String(cString: zmq_strerror(code)) }
    public var description: String { "\(operation): \(message)" }

    /// The context was shut down or terminated: every blocking call returns this, the socket loop should end.
    public var isTerminated: Bool { code == ZMQError.eterm }
    /// A non-blocking call had nothing to do, or a timeout elapsed.
    public var isAgain: Bool { code == EAGAIN }
    /// A signal arrived during a blocking call; retry it.
    public var isInterrupted: Bool { code == EINTR }

    /// `ETERM` is `ZMQ_HAUSNUMERO + 53`, a macro expression Swift does not import.
    public static let eterm: Int32 = 156_384_712 + 53
}
