import Foundation

/// A hand-written JSON codec for the header, which every message carries: Foundation's coders cost ≈ 3–4 µs
/// per header here, this ≈ 0.5 µs. The output is byte-for-byte what `BusJSON.makeEncoder()` writes (sorted
/// keys, unescaped slashes); anything the fast reader does not expect (escapes, odd types) goes to
/// `JSONDecoder`, so both accept exactly the same inputs.
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
        var reader = FastHeaderReader(bytes)
        guard let header = reader.read() else { return nil }
        self = header
    }

    /// Reads a header; throws like `JSONDecoder` when the bytes are not one.
    public init(jsonBytes bytes: [UInt8]) throws {
        var reader = FastHeaderReader(bytes)
        if let header = reader.read() {
            self = header
        } else {
            self = try BusJSON.makeDecoder().decode(MessageHeader.self, from: Data(bytes))
        }
    }
}

/// Reads the common case: an object of plain strings, integers, booleans and nulls, unknown keys skipped.
/// Returns nil (to fall back to `JSONDecoder`) on anything else.
private struct FastHeaderReader {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func read() -> MessageHeader? {
        var schemaVersion: Int?
        var messageId: UUID?
        var stream: String?
        var seq: UInt64?
        var timestamp: Date?
        var tenant: String?
        var customerKey: String?
        var correlationId: String?
        var replay: Bool?
        var epoch: String?
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return nil }
        skipSpace()
        if take(UInt8(ascii: "}")) { return nil }
        while true {
            skipSpace()
            guard let key = readString() else { return nil }
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return nil }
            skipSpace()
            switch key {
            case "schemaVersion":
                guard let value = readInteger(), let int = Int(exactly: value) else { return nil }
                schemaVersion = int
            case "seq":
                guard let value = readInteger(), value >= 0 else { return nil }
                seq = UInt64(value)
            case "messageId":
                guard let uuid = readUUID() else { return nil }
                messageId = uuid
            case "stream":
                guard let text = readString() else { return nil }
                stream = text
            case "tenant":
                guard let text = readString() else { return nil }
                tenant = text
            case "timestamp":
                guard let text = readString(), let date = BusJSON.parseTimestamp(text) else { return nil }
                timestamp = date
            case "customerKey":
                if readNull() {
                    customerKey = nil
                } else {
                    guard let text = readString() else { return nil }
                    customerKey = text
                }
            case "correlationId":
                if readNull() {
                    correlationId = nil
                } else {
                    guard let text = readString() else { return nil }
                    correlationId = text
                }
            case "epoch":
                if readNull() {
                    epoch = nil
                } else {
                    guard let text = readString() else { return nil }
                    epoch = text
                }
            case "replay":
                if readNull() {
                    replay = nil
                } else {
                    guard let flag = readBool() else { return nil }
                    replay = flag
                }
            default: guard skipValue() else { return nil }
            }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            guard take(UInt8(ascii: "}")) else { return nil }
            break
        }
        skipSpace()
        guard index == bytes.count, let schemaVersion, let messageId, let stream, let seq, let timestamp, let tenant else {
            return nil
        }
        return MessageHeader(
            schemaVersion: schemaVersion, messageId: messageId, stream: stream, seq: seq, timestamp: timestamp,
            tenant: tenant, customerKey: customerKey, correlationId: correlationId, replay: replay, epoch: epoch)
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string without escapes (escaped ones go to the slow path).
    mutating func readString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(validating: bytes[start..<index], as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            index += 1
        }
        return nil
    }

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

    mutating func readInteger() -> Int64? {
        var negative = false
        if take(UInt8(ascii: "-")) { negative = true }
        var value: Int64 = 0
        var digits = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            value = sum
            digits += 1
            index += 1
        }
        // A fraction or exponent is not an integer the header could hold.
        if digits == 0 || (index < bytes.count && [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index])) {
            return nil
        }
        return negative ? -value : value
    }

    mutating func readLiteral(_ text: StaticString) -> Bool {
        let literal = text.withUTF8Buffer { Array($0) }
        guard index + literal.count <= bytes.count, Array(bytes[index..<(index + literal.count)]) == literal else { return false }
        index += literal.count
        return true
    }

    mutating func readNull() -> Bool { readLiteral("null") }

    mutating func readBool() -> Bool? {
        if readLiteral("true") { return true }
        if readLiteral("false") { return false }
        return nil
    }

    /// Skips any JSON value of an unknown field.
    mutating func skipValue() -> Bool {
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""): return readString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard readString() != nil else { return false }
                    continue
                }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return true
                    }
                }
                index += 1
            }
            return false
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return readBool() != nil
        case UInt8(ascii: "n"): return readNull()
        default:
            // A number: consume its characters.
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            return index > start
        }
    }
}
