import Foundation

/// Topics that are not numbered: they carry seq 0 and are never replayed.
public enum ControlTopics {
    public static let all: Set<String> = [
        BusReplayRequested.topic, BusReplayUnavailable.topic, ServiceHeartbeat.topic,
    ]

    public static func contains(_ topic: String) -> Bool {
        all.contains(Shard.baseTopic(topic)) || topic.hasPrefix("bus.probe.")
    }
}

/// A subscriber missed part of a stream's topic and asks the stream's owner to re-send from `fromSeq`.
public struct BusReplayRequested: BusEvent, Equatable {
    public static let topic = "bus.replay.requested"

    public enum Reason: String, Codable, Sendable { case gap, startup, heartbeat }

    public var stream: String
    public var topic: String
    public var fromSeq: UInt64
    public var requestedBy: String
    public var reason: Reason

    public init(stream: String, topic: String, fromSeq: UInt64, requestedBy: String, reason: Reason) {
        self.stream = stream
        self.topic = topic
        self.fromSeq = fromSeq
        self.requestedBy = requestedBy
        self.reason = reason
    }
}

/// The owner no longer holds part of the requested range (pruned from its outbox). It re-sends what it has
/// from `firstAvailableSeq` on; the requester accepts the loss and relies on the owner's resynchronisation.
public struct BusReplayUnavailable: BusEvent, Equatable {
    public static let topic = "bus.replay.unavailable"
    public var stream: String
    public var topic: String
    public var fromSeq: UInt64
    /// The oldest seq still held; everything before it is gone.
    public var firstAvailableSeq: UInt64
    public var requestedBy: String
    /// How the owner offers to make up for it, e.g. "the collector's next full poll re-announces every device".
    public var resynchronisation: String?

    public init(
        stream: String, topic: String, fromSeq: UInt64, firstAvailableSeq: UInt64, requestedBy: String,
        resynchronisation: String? = nil
    ) {
        self.stream = stream
        self.topic = topic
        self.fromSeq = fromSeq
        self.firstAvailableSeq = firstAvailableSeq
        self.requestedBy = requestedBy
        self.resynchronisation = resynchronisation
    }
}

/// Sent every few seconds by every service, so a quiet stream can be told from a dead one and a subscriber
/// notices a missed tail even when no further message comes.
public struct ServiceHeartbeat: BusEvent, Equatable {
    public static let topic = "service.heartbeat"
    public var service: String
    public var instance: String
    /// The stream the service publishes, `<service>/<instance>`.
    public var stream: String
    public var version: String
    public var uptimeSeconds: Double
    /// The latest seq of each topic in the stream.
    public var latestSeq: [String: UInt64]
    public var intervalSeconds: Double

    public init(
        service: String, instance: String, stream: String, version: String, uptimeSeconds: Double,
        latestSeq: [String: UInt64], intervalSeconds: Double
    ) {
        self.service = service
        self.instance = instance
        self.stream = stream
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.latestSeq = latestSeq
        self.intervalSeconds = intervalSeconds
    }
}
