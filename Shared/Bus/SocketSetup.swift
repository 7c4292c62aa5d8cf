import ZeroMQ

extension ZMQSocket {
    /// The options every service socket on the bus gets: short linger so shutdown never hangs, high-water
    /// marks, ZMTP heartbeats so a dead bus is noticed, and reconnect backoff so a restarted bus is found again.
    func applyBusDefaults(_ configuration: BusConfiguration) throws {
        try setLinger(milliseconds: 200)
        try setSendHighWaterMark(configuration.sendHighWaterMark)
        try setReceiveHighWaterMark(configuration.receiveHighWaterMark)
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
