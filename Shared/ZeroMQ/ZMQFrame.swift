import CZeroMQ

#if canImport(Glibc)
    import Glibc
#endif

/// One message frame owned at a fixed heap address (`zmq_msg_t` must never be copied), for loops that move
/// frames between sockets without copying their bytes: the bus's forwarder.
///
/// Like ``ZMQSocket`` it is not `Sendable`: create and use it on one thread.
public final class ZMQFrame {
    let message: UnsafeMutablePointer<zmq_msg_t>

    public init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Receives the next frame from `socket`; false when nothing is there (`dontWait`, a timeout or a signal).
    public func receive(from socket: ZMQSocket, dontWait: Bool) throws -> Bool {
        let rc = zmq_msg_recv(message, socket.handle, dontWait ? ZMQ_DONTWAIT : 0)
        if rc >= 0 { return true }
        let error = ZMQError.last("receive \(socket.type)")
        if error.isAgain || error.isInterrupted { return false }
        throw error
    }

    /// Sends the frame's content to `socket` (the frame is empty afterwards); false if it would block.
    @discardableResult
    public func send(to socket: ZMQSocket, more: Bool, dontWait: Bool = true) throws -> Bool {
        var flags: Int32 = more ? ZMQ_SNDMORE : 0
        if dontWait { flags |= ZMQ_DONTWAIT }
        while true {
            if zmq_msg_send(message, socket.handle, flags) >= 0 { return true }
            let error = ZMQError.last("send \(socket.type)")
            if error.isInterrupted { continue }
            if error.isAgain { return false }
            throw error
        }
    }

    /// Makes this frame share `other`'s content (reference-counted for large frames, copied for small ones).
    public func copy(from other: ZMQFrame) {
        zmq_msg_copy(message, other.message)
    }

    /// Empties the frame, releasing its content.
    public func reset() {
        zmq_msg_close(message)
        zmq_msg_init(message)
    }

    public var count: Int { zmq_msg_size(message) }

    /// Whether another frame of the same message follows.
    public var more: Bool { zmq_msg_more(message) != 0 }

    /// The frame's bytes, valid until the frame is sent, reset or received into again.
    public func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message)))
    }

    public var bytes: [UInt8] { withBytes { [UInt8]($0) } }

    /// A metadata property of the connection the frame came from: `User-Id` (what the ZAP handler answered),
    /// `Peer-Address`, `Socket-Type`.
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(message, name) else { return nil }
        return String(cString: value)
    }
}

extension ZMQSocket {
    /// Refuse connections on a ZAP domain whose handler is missing (fail closed), instead of libzmq's legacy
    /// behaviour of admitting them. A draft option in libzmq 4.3; false when this libzmq does not know it.
    public func setZapEnforceDomain(_ on: Bool) -> Bool {
        (try? setInt(93, on ? 1 : 0, "ZMQ_ZAP_ENFORCE_DOMAIN")) != nil
    }
}
