import Foundation

/// Reads the JSON this project writes (objects, strings, integers, booleans, nulls, ISO-8601 timestamps) without
/// Foundation's decoder, which costs most of a consumer's time per message on the hot topics.
///
/// Every read answers nil on anything it does not handle exactly as `JSONDecoder` would — a fraction or exponent, a
/// key given twice, a key it does not know, an invalid escape — so the caller falls back to `JSONDecoder`, which then
/// decides (and throws where it must). What this reader accepts, `JSONDecoder` accepts with the same value.
public struct BusJSONReader {
    let bytes: [UInt8]
    var index = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// True when only whitespace is left.
    public mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }

    /// Keys an object may have before the reader gives up: the objects it reads have a fixed handful, and looking for
    /// a repeated key among thousands (a hostile header) would cost quadratic time.
    static let maxKeys = 64

    /// Reads an object, handing each key to `field` with the reader at its value; `field` reads the value and returns
    /// true, or false to give up. A key given twice gives up too (decoders disagree on which one wins), and so do
    /// more than `maxKeys` keys.
    public mutating func readObject(_ field: (inout BusJSONReader, String) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if take(UInt8(ascii: "}")) { return true }
        var seen: [String] = []
        while true {
            skipSpace()
            guard seen.count < Self.maxKeys, let key = readString(), !seen.contains(key) else { return false }
            seen.append(key)
            skipSpace()
            guard take(UInt8(ascii: ":")) else { return false }
            skipSpace()
            guard field(&self, key) else { return false }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}"))
        }
    }

    /// Reads an array, calling `element` with the reader at each element.
    public mutating func readArray(_ element: (inout BusJSONReader) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "[")) else { return false }
        skipSpace()
        if take(UInt8(ascii: "]")) { return true }
        while true {
            skipSpace()
            guard element(&self) else { return false }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]"))
        }
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string; escapes (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs) decoded.
    public mutating func readString() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return Self.string(bytes, start..<index, ascii: ascii)
            }
            if byte == UInt8(ascii: "\\") { return readEscapedString(from: start) }
            if byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return nil
    }

    /// Skips a string, checking it as `readString` does, without building it (escapes, rare here, are decoded).
    mutating func skipString() -> Bool {
        guard take(UInt8(ascii: "\"")) else { return false }
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return ascii || Self.string(bytes, start..<index, ascii: false) != nil
            }
            if byte == UInt8(ascii: "\\") { return readEscapedString(from: start) != nil }
            if byte < 0x20 { return false }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return false
    }

    /// Reads an array and answers the byte range of each element (each checked to be JSON, as `skipValue` checks), at
    /// most `limit` of them, with nothing after the array: how a bundle's frames are cut into its events without
    /// decoding anything twice.
    public mutating func elementRanges(limit: Int) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        let read = readArray { reader in
            guard ranges.count < limit else { return false }
            let start = reader.index
            guard reader.skipValue() else { return false }
            ranges.append(start..<reader.index)
            return true
        }
        guard read, atEnd() else { return nil }
        return ranges
    }

    /// The bytes as a string; nil when they are not valid UTF-8. ASCII (nearly every string on the bus) needs no
    /// validation and is copied straight from contiguous memory: the generic validating initializer on an array slice
    /// cost a consumer more than the rest of the read.
    static func string(_ bytes: [UInt8], _ range: Range<Int>, ascii: Bool) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            let slice = UnsafeBufferPointer(rebasing: buffer[range])
            return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
        }
    }

    /// The rest of a string that has escapes, from its first byte at `start`.
    private mutating func readEscapedString(from start: Int) -> String? {
        var decoded = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = readUnicodeEscape() else { return nil }
                    decoded.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            default:
                if byte < 0x20 { return nil }
                decoded.append(byte)
            }
        }
        return nil
    }

    /// After `\u`: four hex digits, and a low surrogate's escape after a high one; nil for a lone surrogate.
    private mutating func readUnicodeEscape() -> Unicode.Scalar? {
        guard let first = readHex4() else { return nil }
        if (0xD800...0xDBFF).contains(first) {
            guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let second = readHex4(), (0xDC00...0xDFFF).contains(second) else {
                return nil
            }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        }
        return Unicode.Scalar(first)
    }

    private mutating func readHex4() -> UInt32? {
        guard index + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// A JSON integer (no leading zeros, no fraction or exponent) that fits in 64 bits.
    public mutating func readInteger() -> Int64? {
        let negative = take(UInt8(ascii: "-"))
        let start = index
        var magnitude: UInt64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            if overflow1 || overflow2 { return nil }
            magnitude = sum
            index += 1
        }
        let digits = index - start
        if digits == 0 || (digits > 1 && bytes[start] == UInt8(ascii: "0")) { return nil }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        return Int64(exactly: magnitude)
    }

    mutating func readLiteral(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let matches = text.withUTF8Buffer { literal in (0..<count).allSatisfy { bytes[index + $0] == literal[$0] } }
        if matches { index += count }
        return matches
    }

    public mutating func readNull() -> Bool { readLiteral("null") }

    public mutating func readBool() -> Bool? {
        if readLiteral("true") { return true }
        if readLiteral("false") { return false }
        return nil
    }

    /// A timestamp as the bus writes it (any ISO-8601 form `BusJSON.parseTimestamp` takes).
    public mutating func readDate() -> Date? {
        readString().flatMap(BusJSON.parseTimestamp)
    }

    // Optional fields: `null` is nil, as `decodeIfPresent` reads it. The outer nil means "give up".

    public mutating func readOptionalString() -> String?? {
        if readNull() { return .some(nil) }
        return readString().map { .some($0) }
    }

    public mutating func readOptionalInteger() -> Int64?? {
        if readNull() { return .some(nil) }
        return readInteger().map { .some($0) }
    }

    public mutating func readOptionalDate() -> Date?? {
        if readNull() { return .some(nil) }
        return readDate().map { .some($0) }
    }

    public mutating func readOptionalBool() -> Bool?? {
        if readNull() { return .some(nil) }
        return readBool().map { .some($0) }
    }
}

/// A bus body with a hand-written reader beside its `Decodable` conformance: nil sends the bytes to `JSONDecoder`.
public protocol BusJSONDecodable {
    init?(plainJSON bytes: [UInt8])
}
