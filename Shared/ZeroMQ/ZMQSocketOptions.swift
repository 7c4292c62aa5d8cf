import CZeroMQ

#if canImport(Glibc)
    import Glibc
#endif

/// Socket options the bus sets. Options apply to binds and connects made after they are set.
extension ZMQSocket {
    func setInt(_ option: Int32, _ value: Int32, _ name: String) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("set \(name)=\(value)")
        }
    }

    func setInt64(_ option: Int32, _ value: Int64, _ name: String) throws {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("set \(name)=\(value)")
        }
    }

    func setBytes(_ option: Int32, _ bytes: [UInt8], _ name: String) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("set \(name)") }
    }

    func getInt(_ option: Int32, _ name: String) throws -> Int32 {
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option, &value, &size) == 0 else { throw ZMQError.last("get \(name)") }
        return value
    }

    /// How long (ms) unsent messages are kept after `close`; -1 forever (the libzmq default, which can hang exit).
    public func setLinger(milliseconds: Int32) throws { try setInt(ZMQ_LINGER, milliseconds, "ZMQ_LINGER") }

    /// Messages queued per peer before PUB drops / PUSH blocks (default 1000; 0 = unlimited).
    public func setSendHighWaterMark(_ messages: Int32) throws { try setInt(ZMQ_SNDHWM, messages, "ZMQ_SNDHWM") }
    public func setReceiveHighWaterMark(_ messages: Int32) throws { try setInt(ZMQ_RCVHWM, messages, "ZMQ_RCVHWM") }
    /// The kernel's receive buffer for the socket's connections (bytes; fixed, so TCP autotuning stops growing it).
    public func setReceiveBuffer(bytes: Int32) throws { try setInt(ZMQ_RCVBUF, bytes, "ZMQ_RCVBUF") }

    /// A blocking receive returns `nil` after this many ms (-1 = wait forever).
    public func setReceiveTimeout(milliseconds: Int32) throws { try setInt(ZMQ_RCVTIMEO, milliseconds, "ZMQ_RCVTIMEO") }
    public func setSendTimeout(milliseconds: Int32) throws { try setInt(ZMQ_SNDTIMEO, milliseconds, "ZMQ_SNDTIMEO") }

    /// ZMTP heartbeats: PING every `interval` ms, drop the connection when nothing comes back within `timeout` ms,
    /// and ask the peer to drop us after `ttl` ms of silence.
    public func setHeartbeat(intervalMilliseconds: Int32, timeoutMilliseconds: Int32, ttlMilliseconds: Int32) throws {
        try setInt(ZMQ_HEARTBEAT_IVL, intervalMilliseconds, "ZMQ_HEARTBEAT_IVL")
        try setInt(ZMQ_HEARTBEAT_TIMEOUT, timeoutMilliseconds, "ZMQ_HEARTBEAT_TIMEOUT")
        try setInt(ZMQ_HEARTBEAT_TTL, ttlMilliseconds, "ZMQ_HEARTBEAT_TTL")
    }

    /// Reconnect after `interval` ms, doubling up to `maximum` ms (0 = no backoff).
    public func setReconnectInterval(milliseconds: Int32, maximumMilliseconds: Int32) throws {
        try setInt(ZMQ_RECONNECT_IVL, milliseconds, "ZMQ_RECONNECT_IVL")
        try setInt(ZMQ_RECONNECT_IVL_MAX, maximumMilliseconds, "ZMQ_RECONNECT_IVL_MAX")
    }

    /// A peer that sends a frame larger than this is disconnected (-1 = no limit).
    public func setMaxMessageSize(bytes: Int64) throws { try setInt64(ZMQ_MAXMSGSIZE, bytes, "ZMQ_MAXMSGSIZE") }

    /// Queue messages only to completed connections.
    public func setImmediate(_ on: Bool) throws { try setInt(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE") }

    /// SUB/XSUB: receive messages whose first frame starts with `prefix` (empty = everything).
    public func subscribe(_ prefix: String) throws { try setBytes(ZMQ_SUBSCRIBE, Array(prefix.utf8), "ZMQ_SUBSCRIBE \(prefix)") }
    public func unsubscribe(_ prefix: String) throws {
        try setBytes(ZMQ_UNSUBSCRIBE, Array(prefix.utf8), "ZMQ_UNSUBSCRIBE \(prefix)")
    }

    /// XPUB: pass every subscription upstream, duplicates included.
    public func setXPubVerbose(_ on: Bool) throws { try setInt(ZMQ_XPUB_VERBOSE, on ? 1 : 0, "ZMQ_XPUB_VERBOSE") }
    /// XPUB/PUB: report EAGAIN instead of dropping silently at the high-water mark.
    public func setXPubNoDrop(_ on: Bool) throws { try setInt(ZMQ_XPUB_NODROP, on ? 1 : 0, "ZMQ_XPUB_NODROP") }

    // MARK: CURVE (encryption and authentication)

    /// Acts as the CURVE server with this secret key (Z85, 40 characters).
    public func setCurveServer(secretKey: String) throws {
        try setInt(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
        try setBytes(ZMQ_CURVE_SECRETKEY, Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }

    /// Acts as a CURVE client of the server whose public key is `serverKey`, with its own key pair.
    public func setCurveClient(serverKey: String, publicKey: String, secretKey: String) throws {
        try setBytes(ZMQ_CURVE_SERVERKEY, Array(serverKey.utf8), "ZMQ_CURVE_SERVERKEY")
        try setBytes(ZMQ_CURVE_PUBLICKEY, Array(publicKey.utf8), "ZMQ_CURVE_PUBLICKEY")
        try setBytes(ZMQ_CURVE_SECRETKEY, Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }

    /// The ZAP domain sent to the authentication handler; set it whenever a ZAP handler is used.
    public func setZapDomain(_ domain: String) throws { try setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8), "ZMQ_ZAP_DOMAIN") }
}

/// CURVE key pairs, Z85-encoded (40 characters each).
public enum ZMQCurve {
    /// Z85 text of a 32-byte binary key (ZAP hands keys over in binary).
    public static func z85(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard bytes.withUnsafeBufferPointer({ zmq_z85_encode(&text, $0.baseAddress, 32) }) != nil else { return nil }
        return String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The public key that belongs to a secret key.
    public static func publicKey(fromSecret secretKey: String) throws -> String {
        var publicKey = [CChar](repeating: 0, count: 41)
        guard secretKey.utf8.count == 40, zmq_curve_public(&publicKey, secretKey) == 0 else {
            throw ZMQError(code: EINVAL, operation: "zmq_curve_public (a secret key is 40 Z85 characters)")
        }
        return String(decoding: publicKey.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static func keyPair() throws -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        func string(_ chars: [CChar]) -> String {
            String(decoding: chars.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return (string(publicKey), string(secretKey))
    }
}
