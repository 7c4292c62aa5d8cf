import Foundation

/// A subscriber missed part of a stream and asks its owner to re-send from `fromSeq`.
public struct BusReplayRequested: BusEvent, Equatable {
    public static let topic = "bus.replay.requested"

    public enum Reason: String, Codable, Sendable { case gap, startup, heartbeat }

    public var stream: String
    public var fromSeq: UInt64
    public var requestedBy: String
    public var reason: Reason

    public init(stream: String, fromSeq: UInt64, requestedBy: String, reason: Reason) {
        self.stream = stream
        self.fromSeq = fromSeq
        self.requestedBy = requestedBy
        self.reason = reason
    }
}

/// The owner no longer holds part of the requested range (pruned from its outbox).
public struct BusReplayUnavailable: BusEvent, Equatable {
    public static let topic = "bus.replay.unavailable"
    public var stream: String
    public var fromSeq: UInt64
    /// The oldest seq still held; everything before it is gone.
    public var firstAvailableSeq: UInt64
    public var requestedBy: String

    public init(stream: String, fromSeq: UInt64, firstAvailableSeq: UInt64, requestedBy: String) {
        self.stream = stream
        self.fromSeq = fromSeq
        self.firstAvailableSeq = firstAvailableSeq
        self.requestedBy = requestedBy
    }
}

/// Sent every few seconds by every service, so a quiet stream can be told from a dead one.
public struct ServiceHeartbeat: BusEvent, Equatable {
    public static let topic = "service.heartbeat"
    public var service: String
    public var instance: String
    public var version: String
    public var uptimeSeconds: Double
    /// Latest seq published on each of the service's streams.
    public var streams: [String: UInt64]
    public var intervalSeconds: Double

    public init(
        service: String, instance: String, version: String, uptimeSeconds: Double, streams: [String: UInt64],
        intervalSeconds: Double
    ) {
        self.service = service
        self.instance = instance
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.streams = streams
        self.intervalSeconds = intervalSeconds
    }
}
