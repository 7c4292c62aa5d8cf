import ZeroMQ

extension ZMQSocket {
    /// The options every service socket on the bus gets: short linger so shutdown never hangs, high-water
    /// marks, ZMTP heartbeats so a dead bus is noticed, and reconnect backoff so a restarted bus is found again.
    func applyBusDefaults(_ configuration: BusConfiguration) throws {
        try applyCurve(configuration.curve)
        try setLinger(milliseconds: 200)
        try setSendHighWaterMark(configuration.sendHighWaterMark)
        try setReceiveHighWaterMark(configuration.receiveHighWaterMark)
        if let bytes = configuration.receiveBufferBytes { try setReceiveBuffer(bytes: bytes) }
        let heartbeat = configuration.heartbeatIntervalMilliseconds
        if heartbeat > 0 {
            try setHeartbeat(
                intervalMilliseconds: heartbeat, timeoutMilliseconds: heartbeat * 3, ttlMilliseconds: heartbeat * 3)
        }
        try setReconnectInterval(
            milliseconds: configuration.reconnectIntervalMilliseconds,
            maximumMilliseconds: configuration.reconnectIntervalMaxMilliseconds)
    }
}

extension ZMQSocket {
    /// Makes the socket a CURVE client of the bus when keys are configured (every bus socket, probes included).
    public func applyCurve(_ keys: CurveClientKeys?) throws {
        guard let keys else { return }
        try setCurveClient(serverKey: keys.serverPublicKey, publicKey: keys.publicKey, secretKey: keys.secretKey)
    }
}
