import Foundation

/// A body that decoded can still be nonsense: a sequence number past what SQLite stores, a reversed range, a
/// stream name of a megabyte. Events that carry such numbers say what is acceptable here, and the bus decoder
/// drops the rest (`invalid_value`) before any service does arithmetic on them.
public protocol ValidatedBusEvent: BusEvent {
    /// Why the event makes no sense, or nil when it is acceptable.
    var validationProblem: String? { get }
}

/// The bounds every message on the bus is held to.
public enum BusLimits {
    /// Sequence numbers are stored as SQLite integers (signed 64-bit): anything above cannot be a real seq.
    public static let maxSeq: UInt64 = UInt64(Int64.max)
    /// The longest stream, tenant or topic name a header or control body may carry.
    public static let maxNameBytes = 200
    /// The longest topic frame (the longest real topic, `bus.probe.<uuid>`, is 46 bytes).
    public static let maxTopicBytes = 128
    /// Events one bundle may carry (`[topic][[header, …]][[body, …]]`); a sender bundles fewer.
    public static let maxBundleEvents = 256
    /// Topics a heartbeat may list.
    public static let maxHeartbeatTopics = 4_096

    /// True for a seq a numbered message can carry.
    public static func isSeq(_ value: UInt64) -> Bool { value >= 1 && value <= maxSeq }

    /// True for a non-empty name of bounded length without control characters.
    public static func isName(_ value: String) -> Bool {
        let bytes = value.utf8
        return !bytes.isEmpty && bytes.count <= maxNameBytes && !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F })
    }
}

extension MessageHeader {
    /// Why the header cannot be trusted for ordering, or nil.
    public var validationProblem: String? {
        if seq > BusLimits.maxSeq { return "seq above \(BusLimits.maxSeq)" }
        if !BusLimits.isName(stream) { return "stream empty, too long or with control characters" }
        if !BusLimits.isName(tenant) { return "tenant empty, too long or with control characters" }
        if let epoch, !BusLimits.isName(epoch) { return "epoch too long or with control characters" }
        return nil
    }
}
