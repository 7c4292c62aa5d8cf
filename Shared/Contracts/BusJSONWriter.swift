import Foundation

/// Writes JSON exactly as `BusJSON.makeEncoder()` does (keys in the order given — callers give them sorted —
/// unescaped slashes, control characters escaped, dates as `BusJSON.formatTimestamp`), for the bodies on the hot
/// path: Foundation's encoder costs several microseconds per event, about half of an outbox append.
public struct BusJSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    public mutating func int(_ value: Int64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    public mutating func unsigned(_ value: UInt64) {
        separate()
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
        needsComma = true
    }

    public mutating func date(_ value: Date) {
        string(BusJSON.formatTimestamp(value))
    }

    /// A key and a string, left out when nil (as `encodeIfPresent` does).
    public mutating func field(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    public mutating func field(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    public mutating func field(_ name: StaticString, _ value: Date?) {
        guard let value else { return }
        key(name)
        date(value)
    }

    public mutating func field(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}

/// A bus body with a hand-written encoding; the outbox uses it instead of `JSONEncoder` (same bytes).
public protocol BusJSONEncodable {
    func busJSON() -> [UInt8]
}

extension CustomerRef {
    func write(to writer: inout BusJSONWriter) {
        writer.beginObject()
        writer.field("key", key)
        writer.field("name", name)
        writer.endObject()
    }
}

extension BackupRunObserved: BusJSONEncodable {
    public func busJSON() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.field("agentName", agentName)
        writer.field("agentVolume", agentVolume)
        writer.key("customer")
        customer.write(to: &writer)
        writer.field("deviceSerial", deviceSerial)
        writer.field("errorMessage", errorMessage)
        writer.field("kind", kind?.rawValue)
        writer.field("rawStatus", rawStatus)
        writer.field("runAt", runAt)
        writer.field("sizeBytes", sizeBytes)
        if let verification {
            writer.key("verification")
            writer.beginObject()
            writer.key("localErrors")
            writer.beginArray()
            for problem in verification.localErrors {
                writer.beginObject()
                writer.field("message", problem.message)
                writer.field("type", problem.type)
                writer.endObject()
            }
            writer.endArray()
            writer.field("localStatus", verification.localStatus)
            writer.field("screenshotImageURL", verification.screenshotImageURL)
            writer.field("screenshotStatus", verification.screenshotStatus)
            writer.endObject()
        }
        writer.endObject()
        return writer.bytes
    }
}

extension BackupJobRecorded: BusJSONEncodable {
    public func busJSON() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.field("agentName", agentName)
        writer.field("agentVolume", agentVolume)
        writer.field("currentlyFailing", currentlyFailing)
        writer.key("customer")
        customer.write(to: &writer)
        writer.field("deviceSerial", deviceSerial)
        writer.field("errorMessage", errorMessage)
        writer.field("failedNightsInARow", Int64(failedNightsInARow))
        writer.field("jobId", jobId)
        writer.field("lastFailureAt", lastFailureAt)
        writer.field("lastFailureMessage", lastFailureMessage)
        writer.field("lastRunAt", lastRunAt)
        writer.field("lastSuccessAt", lastSuccessAt)
        writer.field("night", night)
        writer.field("rawStatus", rawStatus)
        writer.field("runAt", runAt)
        writer.field("sizeBytes", sizeBytes)
        writer.field("status", status.rawValue)
        writer.endObject()
        return writer.bytes
    }
}
