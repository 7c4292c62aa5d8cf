import VectisContracts

/// Several consecutive events of one stream and one topic in one bus message: `[topic][[header, …]][[body, …]]`.
///
/// Every bus message costs a CURVE box per frame on each hop and a pass through every socket, thread and queue on the
/// way; a relay with a backlog sends it in bundles, so a busy stream pays that once per bundle instead of once per
/// event. A bundle is still three frames (the bus's frame rule and libzmq's topic-prefix filtering are unchanged), and
/// its headers and bodies are JSON arrays of exactly what single messages carry, so the tap and `jq` read it as is.
///
/// A receiver takes a bundle whole or not at all (`invalid_bundle`): 1 to `BusLimits.maxBundleEvents` headers, one
/// stream, consecutive seqs (all numbered, none a control message), and exactly as many bodies.
public enum BusBundle {
    /// One event ready to send: its topic, seq and encoded frames (an outbox row).
    public struct Item: Sendable {
        public var topic: String
        public var seq: UInt64
        public var header: [UInt8]
        public var body: [UInt8]

        public init(topic: String, seq: UInt64, header: [UInt8], body: [UInt8]) {
            self.topic = topic
            self.seq = seq
            self.header = header
            self.body = body
        }

        var frames: [[UInt8]] { [Array(topic.utf8), header, body] }
    }

    /// A message ready for the socket: one event's frames, or a bundle's.
    public struct Message: Sendable {
        public var frames: [[UInt8]]
        public var events: Int

        public init(frames: [[UInt8]], events: Int = 1) {
            self.frames = frames
            self.events = events
        }
    }

    /// Events per bundle a relay sends at most by default.
    public static let defaultEvents = 16
    /// A bundle's frames stay under this many bytes, so a queue of messages bounded by a high-water mark stays bounded
    /// in bytes too (a single event larger than this goes alone).
    public static let maxBytes = 8 * 1024

    /// `items`, in order, as messages: each run of consecutive seqs of one topic becomes bundles of at most `maxEvents`
    /// events and `maxBytes` bytes (`maxBytes` never above the bus's message limit); what cannot join a run goes alone.
    public static func messages(_ items: [Item], maxEvents: Int, maxBytes: Int) -> [Message] {
        var messages: [Message] = []
        var start = 0
        while start < items.count {
            var end = start + 1
            var bytes = items[start].topic.utf8.count + items[start].header.count + items[start].body.count + 4
            while end < items.count, end - start < maxEvents {
                let next = items[end]
                let grown = bytes + next.header.count + next.body.count + 2
                guard next.topic == items[start].topic, next.seq == items[end - 1].seq &+ 1, grown <= maxBytes else { break }
                bytes = grown
                end += 1
            }
            messages.append(Message(frames: end - start == 1 ? items[start].frames : frames(of: items[start..<end]), events: end - start))
            start = end
        }
        return messages
    }

    static func frames(of run: ArraySlice<Item>) -> [[UInt8]] {
        var headers: [UInt8] = [UInt8(ascii: "[")]
        var bodies: [UInt8] = [UInt8(ascii: "[")]
        headers.reserveCapacity(run.reduce(2) { $0 + $1.header.count + 1 })
        bodies.reserveCapacity(run.reduce(2) { $0 + $1.body.count + 1 })
        for (offset, item) in run.enumerated() {
            if offset > 0 {
                headers.append(UInt8(ascii: ","))
                bodies.append(UInt8(ascii: ","))
            }
            headers.append(contentsOf: item.header)
            bodies.append(contentsOf: item.body)
        }
        headers.append(UInt8(ascii: "]"))
        bodies.append(UInt8(ascii: "]"))
        return [Array(run[run.startIndex].topic.utf8), headers, bodies]
    }

    /// Whether a header frame is a bundle's: a JSON array (a single message's header is an object).
    public static func isBundle(headerFrame: [UInt8]) -> Bool {
        headerFrame.first == UInt8(ascii: "[")
    }

    /// What a bundle's headers must share beyond each being valid: one stream, and seqs that follow each other.
    public static func isConsistent(_ headers: [MessageHeader]) -> Bool {
        guard let first = headers.first else { return false }
        for (offset, header) in headers.enumerated() {
            // Seqs are validated to be at most Int64.max, so the sum cannot overflow.
            guard BusLimits.isSeq(header.seq), header.stream == first.stream, header.seq == first.seq + UInt64(offset) else {
                return false
            }
        }
        return true
    }
}
