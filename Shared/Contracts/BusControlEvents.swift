import Foundation

/// Topics that are not numbered: they carry seq 0 and are never replayed.
public enum ControlTopics {
    public static let all: Set<String> = [
        BusReplayRequested.topic, BusReplayUnavailable.topic, ServiceHeartbeat.topic
    ]

    public static func contains(_ topic: String) -> Bool {
        all.contains(Shard.baseTopic(topic)) || topic.hasPrefix(ProbeTopics.prefix)
    }
}

/// A subscriber missed part of a stream's topic and asks the stream's owner to re-send from `fromSeq`.
public struct BusReplayRequested: BusEvent, Equatable {
    public static let topic = "bus.replay.requested"

    public enum Reason: String, Codable, Sendable { case gap, startup, heartbeat }

    public var stream: String
    public var topic: String
    public var fromSeq: UInt64
    /// The last seq wanted (inclusive); nil: everything from `fromSeq` on.
    public var toSeq: UInt64?
    public var requestedBy: String
    public var reason: Reason

    public init(
        stream: String, topic: String, fromSeq: UInt64, toSeq: UInt64? = nil, requestedBy: String, reason: Reason
    ) {
        self.stream = stream
        self.topic = topic
        self.fromSeq = fromSeq
        self.toSeq = toSeq
        self.requestedBy = requestedBy
        self.reason = reason
    }
}

extension BusReplayRequested: ValidatedBusEvent {
    public var validationProblem: String? {
        guard BusLimits.isSeq(fromSeq) else { return "fromSeq outside 1...Int64.max" }
        if let toSeq, !BusLimits.isSeq(toSeq) || toSeq < fromSeq { return "toSeq outside fromSeq...Int64.max" }
        guard BusLimits.isName(stream), BusLimits.isName(requestedBy), topic.utf8.count <= BusLimits.maxTopicBytes,
            BusLimits.isName(topic)
        else { return "stream, topic or requestedBy empty or too long" }
        return nil
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

extension BusReplayUnavailable: ValidatedBusEvent {
    public var validationProblem: String? {
        guard BusLimits.isSeq(fromSeq), BusLimits.isSeq(firstAvailableSeq) else {
            return "fromSeq or firstAvailableSeq outside 1...Int64.max"
        }
        guard fromSeq < firstAvailableSeq else { return "firstAvailableSeq not after fromSeq" }
        guard BusLimits.isName(stream), BusLimits.isName(requestedBy), topic.utf8.count <= BusLimits.maxTopicBytes,
            BusLimits.isName(topic)
        else { return "stream, topic or requestedBy empty or too long" }
        if let resynchronisation, resynchronisation.utf8.count > 1_000 { return "resynchronisation too long" }
        return nil
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

extension ServiceHeartbeat: ValidatedBusEvent {
    public var validationProblem: String? {
        guard BusLimits.isName(service), BusLimits.isName(instance), BusLimits.isName(stream),
            version.utf8.count <= BusLimits.maxNameBytes
        else { return "service, instance, stream or version empty or too long" }
        guard latestSeq.count <= BusLimits.maxHeartbeatTopics else { return "too many topics" }
        for (topic, seq) in latestSeq {
            guard seq <= BusLimits.maxSeq, topic.utf8.count <= BusLimits.maxTopicBytes else {
                return "a latest seq above Int64.max or a topic too long"
            }
        }
        guard uptimeSeconds.isFinite, uptimeSeconds >= 0, intervalSeconds.isFinite, intervalSeconds > 0 else {
            return "uptime or interval not a finite positive number"
        }
        return nil
    }
}
