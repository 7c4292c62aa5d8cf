import Foundation

/// A hand-written JSON codec for the header, which every message carries: Foundation's coders cost ≈ 3–4 µs
/// per header here, this ≈ 0.5 µs. The output is byte-for-byte what `BusJSON.makeEncoder()` writes (sorted
/// keys, unescaped slashes); anything the fast reader does not take (odd types, a key twice, a value that is not
/// JSON) goes to `JSONDecoder`, and what the fast reader takes, `JSONDecoder` reads to the same header.
extension MessageHeader {
    public func jsonBytes() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.field("correlationId", correlationId)
        writer.field("customerKey", customerKey)
        writer.field("epoch", epoch)
        writer.field("messageId", messageId.uuidString)
        writer.field("replay", replay)
        writer.field("schemaVersion", Int64(schemaVersion))
        writer.key("seq")
        writer.unsigned(seq)
        writer.field("stream", stream)
        writer.field("tenant", tenant)
        writer.field("timestamp", timestamp)
        writer.endObject()
        return writer.bytes
    }

    /// Reads a header only in the plain form this project writes (no escapes, no unusual types), or nil. The bus
    /// checks headers with this: what it accepts, every consumer's reader reads the same way.
    public init?(plainJSONBytes bytes: [UInt8]) {
        guard let header = Self.readPlain(bytes) else { return nil }
        self = header
    }

    /// Reads a header; throws like `JSONDecoder` when the bytes are not one.
    public init(jsonBytes bytes: [UInt8]) throws {
        if let header = Self.readPlain(bytes) {
            self = header
        } else {
            self = try BusJSON.makeDecoder().decode(MessageHeader.self, from: Data(bytes))
        }
    }
}

/// Reads the common case: strings, integers, booleans and nulls, unknown keys skipped (a newer producer's field).
/// Returns nil (to fall back to `JSONDecoder`) on anything else.
extension MessageHeader {
    static func readPlain(_ bytes: [UInt8]) -> MessageHeader? {
        var reader = BusJSONReader(bytes)
        guard let header = readPlain(from: &reader), reader.atEnd() else { return nil }
        return header
    }

    /// The headers of a bundle, a JSON array of 1 to `limit` headers in the plain form (a bundle is only ever written
    /// by this code, so nothing else is taken), or nil.
    public static func plainHeaders(bundle bytes: [UInt8], limit: Int) -> [MessageHeader]? {
        var reader = BusJSONReader(bytes)
        var headers: [MessageHeader] = []
        let read = reader.readArray { reader in
            guard headers.count < limit, let header = readPlain(from: &reader) else { return false }
            headers.append(header)
            return true
        }
        guard read, reader.atEnd(), !headers.isEmpty else { return nil }
        return headers
    }

    /// Only the `stream` of each header of a bundle, read with the same reader as `plainHeaders` (a key twice, an
    /// escape, a value that is not JSON are treated alike) but skipping every other field: the bus checks a bundle's
    /// ownership with this, and its consumers then read the whole headers strictly.
    public static func plainStreams(bundle bytes: [UInt8], limit: Int) -> [String]? {
        var reader = BusJSONReader(bytes)
        var streams: [String] = []
        let read = reader.readArray { reader in
            guard streams.count < limit else { return false }
            var stream: String?
            let object = reader.readObject { reader, key in
                guard key == "stream" else { return reader.skipValue() }
                stream = reader.readString()
                return stream != nil
            }
            guard object, let stream else { return false }
            streams.append(stream)
            return true
        }
        guard read, reader.atEnd(), !streams.isEmpty else { return nil }
        return streams
    }

    static func readPlain(from reader: inout BusJSONReader) -> MessageHeader? {
        var schemaVersion: Int?
        var messageId: UUID?
        var stream: String?
        var seq: UInt64?
        var timestamp: Date?
        var tenant: String?
        var customerKey: String??
        var correlationId: String??
        var replay: Bool??
        var epoch: String??
        let read = reader.readObject { reader, key in
            switch key {
            case "schemaVersion":
                schemaVersion = reader.readInteger().flatMap { Int(exactly: $0) }
                return schemaVersion != nil
            case "seq":
                seq = reader.readInteger().flatMap { UInt64(exactly: $0) }
                return seq != nil
            case "messageId":
                messageId = reader.readUUID()
                return messageId != nil
            case "stream":
                stream = reader.readString()
                return stream != nil
            case "tenant":
                tenant = reader.readString()
                return tenant != nil
            case "timestamp":
                timestamp = reader.readDate()
                return timestamp != nil
            case "customerKey":
                customerKey = reader.readOptionalString()
                return customerKey != nil
            case "correlationId":
                correlationId = reader.readOptionalString()
                return correlationId != nil
            case "epoch":
                epoch = reader.readOptionalString()
                return epoch != nil
            case "replay":
                replay = reader.readOptionalBool()
                return replay != nil
            default:
                return reader.skipValue()
            }
        }
        guard read, let schemaVersion, let messageId, let stream, let seq, let timestamp, let tenant else {
            return nil
        }
        return MessageHeader(
            schemaVersion: schemaVersion, messageId: messageId, stream: stream, seq: seq, timestamp: timestamp,
            tenant: tenant, customerKey: customerKey ?? nil, correlationId: correlationId ?? nil, replay: replay ?? nil,
            epoch: epoch ?? nil)
    }
}

extension BusJSONReader {
    /// `8-4-4-4-12` hex digits in quotes, parsed by hand (Foundation's parser goes through sscanf).
    mutating func readUUID() -> UUID? {
        guard take(UInt8(ascii: "\"")), index + 37 <= bytes.count, bytes[index + 36] == UInt8(ascii: "\"") else {
            return nil
        }
        var raw = [UInt8](repeating: 0, count: 16)
        var nibbles = 0
        for offset in 0..<36 {
            let byte = bytes[index + offset]
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            raw[nibbles / 2] |= nibbles % 2 == 0 ? value << 4 : value
            nibbles += 1
        }
        index += 37
        return UUID(
            uuid: (
                raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]
            ))
    }

    /// Skips a value of a key the header does not know (a newer producer's field), checking it is JSON: a string,
    /// literal, number, or an object or array of them, at most 32 deep. (`JSONDecoder` is laxer about values it skips;
    /// what this refuses goes to it, and the bus, which reads headers only this way, drops such a header.)
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 32, index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""): return skipString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return readBool() != nil
        case UInt8(ascii: "n"): return readNull()
        case UInt8(ascii: "{"):
            index += 1
            skipSpace()
            if take(UInt8(ascii: "}")) { return true }
            while true {
                skipSpace()
                guard skipString() else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "}"))
            }
        case UInt8(ascii: "["):
            index += 1
            skipSpace()
            if take(UInt8(ascii: "]")) { return true }
            while true {
                skipSpace()
                guard skipValue(depth: depth + 1) else { return false }
                skipSpace()
                if take(UInt8(ascii: ",")) { continue }
                return take(UInt8(ascii: "]"))
            }
        default:
            return skipNumber()
        }
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func skipNumber() -> Bool {
        func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
            return index - start
        }
        _ = take(UInt8(ascii: "-"))
        let start = index
        let whole = digits()
        guard whole > 0, whole == 1 || bytes[start] != UInt8(ascii: "0") else { return false }
        if take(UInt8(ascii: ".")), digits() == 0 { return false }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits() > 0 else { return false }
        }
        return true
    }
}
