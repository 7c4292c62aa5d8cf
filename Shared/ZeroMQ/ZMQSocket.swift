import CZeroMQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libzmq socket.
///
/// libzmq sockets are not thread-safe, so this class is deliberately **not** `Sendable`: the compiler refuses to
/// hand it to another thread or task. Create it on the thread that will use it (see ``ZMQSocketThread``) and
/// close it there. All calls are synchronous; blocking ones (`receive` without `dontWait`, `proxy`, `poll`) must
/// never run on the Swift concurrency pool.
public final class ZMQSocket {
    public let type: ZMQSocketType
    let handle: UnsafeMutableRawPointer
    /// Keeps the context alive while the socket exists.
    private let context: ZMQContext
    /// `zmq_msg_t` imports as a copyable struct although libzmq forbids copying it: keep one at a fixed
    /// heap address for the life of the socket.
    private let message: UnsafeMutablePointer<zmq_msg_t>
    private var closed = false

    public init(context: ZMQContext, type: ZMQSocketType) throws {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket \(type)")
        }
        self.type = type
        self.handle = handle
        self.context = context
        self.message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    deinit {
        close()
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Closes the socket. Set ``linger`` low first or pending outgoing messages hold up context termination.
    public func close() {
        guard !closed else { return }
        closed = true
        zmq_close(handle)
    }

    // MARK: Endpoints

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("connect \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("disconnect \(endpoint)") }
    }

    public func unbind(_ endpoint: String) throws {
        guard zmq_unbind(handle, endpoint) == 0 else { throw ZMQError.last("unbind \(endpoint)") }
    }

    /// The endpoint of the last bind, with a wildcard port resolved (`tcp://127.0.0.1:*` → `tcp://127.0.0.1:40123`).
    public var lastEndpoint: String {
        get throws {
            var buffer = [CChar](repeating: 0, count: 256)
            var size = buffer.count
            guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
                throw ZMQError.last("get ZMQ_LAST_ENDPOINT")
            }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    // MARK: Sending

    /// Sends a multipart message atomically. Returns `false` when `dontWait` is set and the socket would block
    /// (for PUB and XPUB, libzmq never blocks: past the high-water mark it drops silently).
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                let error = ZMQError.last("send \(type)")
                if error.isInterrupted { continue }
                // Only the first frame may report EAGAIN; once a part is queued the rest always are.
                if error.isAgain && index == 0 { return false }
                throw error
            }
        }
        return true
    }

    /// Sends one frame; `more` says another frame of the same message follows.
    @discardableResult
    public func send(frame: [UInt8], more: Bool = false, dontWait: Bool = false) throws -> Bool {
        var flags: Int32 = more ? ZMQ_SNDMORE : 0
        if dontWait { flags |= ZMQ_DONTWAIT }
        while true {
            let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            if rc >= 0 { return true }
            let error = ZMQError.last("send \(type)")
            if error.isInterrupted { continue }
            if error.isAgain { return false }
            throw error
        }
    }

    // MARK: Receiving

    /// Receives one frame, or `nil` when nothing arrived (non-blocking call, `receiveTimeout` elapsed, or a signal
    /// interrupted the wait). `more` tells whether further frames of the same message follow.
    public func receiveFrame(dontWait: Bool = false) throws -> (bytes: [UInt8], more: Bool)? {
        let rc = zmq_msg_recv(message, handle, dontWait ? ZMQ_DONTWAIT : 0)
        if rc < 0 {
            let error = ZMQError.last("receive \(type)")
            if error.isAgain || error.isInterrupted { return nil }
            throw error
        }
        let size = zmq_msg_size(message)
        let bytes: [UInt8]
        if size == 0 {
            bytes = []
        } else {
            bytes = [UInt8](UnsafeRawBufferPointer(start: zmq_msg_data(message), count: size))
        }
        let more = zmq_msg_more(message) != 0
        // Reset for the next receive (zmq_msg_recv releases the previous content itself, but close+init keeps
        // the message empty between calls so no large frame stays pinned).
        zmq_msg_close(message)
        zmq_msg_init(message)
        return (bytes, more)
    }

    /// Receives all frames of one message, or `nil` when nothing arrived (see ``receiveFrame(dontWait:)``).
    /// Multipart delivery is atomic, so once the first frame is here the rest are read without waiting.
    public func receiveMessage(dontWait: Bool = false) throws -> [[UInt8]]? {
        guard let first = try receiveFrame(dontWait: dontWait) else { return nil }
        var frames = [first.bytes]
        var more = first.more
        while more {
            guard let next = try receiveFrame() else { continue }
            frames.append(next.bytes)
            more = next.more
        }
        return frames
    }

    /// Waits until the socket is readable; `false` on timeout or signal. Prefer a `dontWait` receive first and
    /// poll only when it returns `nil`: polling before every receive costs 4–5× throughput.
    public func waitReadable(timeoutMilliseconds: Int) throws -> Bool {
        try ZMQPoll.poll([ZMQPoll.Item(socket: self, events: .readable)], timeoutMilliseconds: timeoutMilliseconds)[0]
            .contains(.readable)
    }
}
