import Foundation

/// The second frame of every bus message: who sent it, its place in the sender's stream, and its context.
public struct MessageHeader: Codable, Sendable, Equatable {
    /// Version of the body's schema for this topic (see ``BusEvent/schemaVersion``).
    public var schemaVersion: Int
    /// Unique per message; a replayed message keeps its original id.
    public var messageId: UUID
    /// The sending stream, `<service>/<instance>`, e.g. `collector/host-1`.
    public var stream: String
    /// Position among this stream's messages *of this topic*, starting at 1, no gaps: a subscriber that sees a
    /// jump knows it missed messages. Counting per topic keeps gap detection right for subscribers that take
    /// only some of a stream's topics. Control messages (heartbeats, replay requests) carry 0.
    public var seq: UInt64
    public var timestamp: Date
    /// The MSP partner account this message belongs to ("default" when there is only one).
    public var tenant: String
    /// The end customer, when the message is about one.
    public var customerKey: String?
    /// What caused it: a poll id, or the message id of the event that triggered it.
    public var correlationId: String?
    /// True when the message is re-sent from the owner's outbox in answer to a replay request.
    public var replay: Bool?
    /// The stream's epoch: a random id created with the owner's sequence table. A new epoch means the owner's
    /// numbering started again (its database was lost or replaced), so consumers reset their cursors for it.
    public var epoch: String?

    public init(
        schemaVersion: Int, messageId: UUID = .randomMessageID(), stream: String, seq: UInt64, timestamp: Date = Date(),
        tenant: String = "default", customerKey: String? = nil, correlationId: String? = nil, replay: Bool? = nil,
        epoch: String? = nil
    ) {
        self.epoch = epoch
        self.schemaVersion = schemaVersion
        self.messageId = messageId
        self.stream = stream
        self.seq = seq
        self.timestamp = timestamp
        self.tenant = tenant
        self.customerKey = customerKey
        self.correlationId = correlationId
        self.replay = replay
    }
}
