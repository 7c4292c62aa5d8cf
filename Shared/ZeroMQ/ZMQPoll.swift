import CZeroMQ

/// `zmq_poll` over several sockets.
public enum ZMQPoll {
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int16
        public init(rawValue: Int16) { self.rawValue = rawValue }
        // ZMQ_POLLIN is an Int32 macro while zmq_pollitem_t.events is Int16.
        public static let readable = Events(rawValue: Int16(ZMQ_POLLIN))
        public static let writable = Events(rawValue: Int16(ZMQ_POLLOUT))
    }

    public struct Item {
        let socket: ZMQSocket
        let events: Events
        public init(socket: ZMQSocket, events: Events) {
            self.socket = socket
            self.events = events
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1 = forever) and returns, per item, the events that are ready.
    /// A signal during the wait counts as a timeout (nothing ready).
    public static func poll(_ items: [Item], timeoutMilliseconds: Int) throws -> [Events] {
        var pollItems = items.map {
            zmq_pollitem_t(socket: $0.socket.handle, fd: 0, events: $0.events.rawValue, revents: 0)
        }
        let rc = zmq_poll(&pollItems, Int32(pollItems.count), timeoutMilliseconds)
        if rc < 0 {
            let error = ZMQError.last("zmq_poll")
            if error.isInterrupted { return items.map { _ in [] } }
            throw error
        }
        return pollItems.map { Events(rawValue: $0.revents) }
    }
}
