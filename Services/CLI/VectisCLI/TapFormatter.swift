import Foundation
import VectisBus
import VectisContracts

/// Turns frames read from the bus's tap port into lines for a terminal, for `jq`, or as a hex dump.
public struct TapFormatter {
    public enum Style: Sendable { case pretty, json, raw }

    public let style: Style
    let codec = BusFrameCodec(maxMessageBytes: .max)

    public init(style: Style) {
        self.style = style
    }

    /// What the tap saw in one capture message.
    public enum Captured {
        /// A subscriber subscribing (`true`) or unsubscribing to a prefix: the XPUB side of the proxy.
        case subscription(subscribe: Bool, prefix: String)
        /// A command to the proxy's control socket (libzmq 4.3 copies those to the capture socket too).
        case control(String)
        /// One event, or the events of a bundle (`BusBundle`) in stream order.
        case messages([BusMessage])
        case malformed(DropReason, frames: [[UInt8]])
    }

    public func classify(_ frames: [[UInt8]]) -> Captured {
        if frames.count == 1, let first = frames[0].first, first == 0 || first == 1 {
            return .subscription(subscribe: first == 1, prefix: String(decoding: frames[0].dropFirst(), as: UTF8.self))
        }
        if frames.count == 1, let command = String(validating: frames[0], as: UTF8.self),
            ["STATISTICS", "PAUSE", "RESUME", "TERMINATE"].contains(command)
        {
            return .control(command)
        }
        switch codec.decodeMessages(frames: frames) {
        case .success(let messages): return .messages(messages)
        case .failure(let reason): return .malformed(reason, frames: frames)
        }
    }

    /// A malformed message as one JSON object: why, how many frames, and its topic (cut, escaped) when it has one.
    func malformedJSONLine(_ reason: DropReason, frames: [[UInt8]], receivedAt: Date) -> String? {
        var object: [String: Any] = [
            "malformed": reason.rawValue, "frames": frames.count, "receivedAt": BusJSON.formatTimestamp(receivedAt),
            "bytes": frames.reduce(0) { $0 + $1.count }
        ]
        if let first = frames.first { object["topic"] = LogText.cut(String(decoding: first.prefix(300), as: UTF8.self), maxBytes: 200) }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The output line(s) for one capture message, or nil when this style does not show it.
    public func format(_ frames: [[UInt8]], receivedAt: Date = Date()) -> String? {
        let lines = lines(frames, receivedAt: receivedAt)
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    /// The output lines for one capture message: in the pretty and JSON styles one per event (a bundle shows as its
    /// events), in the raw style one dump of the frames as they travelled.
    public func lines(_ frames: [[UInt8]], receivedAt: Date = Date()) -> [String] {
        let captured = classify(frames)
        switch style {
        case .raw:
            return [rawDump(frames, captured: captured, receivedAt: receivedAt)]
        case .json:
            switch captured {
            case .messages(let messages): return messages.compactMap { jsonLine($0, receivedAt: receivedAt) }
            case .malformed(let reason, let frames):
                return malformedJSONLine(reason, frames: frames, receivedAt: receivedAt).map { [$0] } ?? []
            case .subscription, .control: return []
            }
        case .pretty:
            switch captured {
            case .subscription, .control: return []
            case .malformed(let reason, let frames):
                return ["\(clock(receivedAt))  !! malformed message (\(reason.rawValue), \(frames.count) frames) — subscribers drop it"]
            case .messages(let messages):
                return messages.map { message in
                    let body = SecretRedactor.redactedJSON(message.body).flatMap(compactJSON) ?? "<\(message.body.count) bytes, not JSON>"
                    // Topic and stream come off the wire: control characters are shown escaped, never sent to the terminal.
                    return
                        "\(clock(receivedAt))  \(LogText.cut(message.topic, maxBytes: 300))  \(LogText.cut(message.header.stream, maxBytes: 300))#\(message.header.seq)  \(body)"
                }
            }
        }
    }

    func jsonLine(_ message: BusMessage, receivedAt: Date) -> String? {
        let header = (try? codec.encoder.encode(message.header)).flatMap { SecretRedactor.redactedJSON(Array($0)) }
        let body = SecretRedactor.redactedJSON(message.body) ?? NSNull()
        let object: [String: Any] = [
            "time": BusJSON.formatTimestamp(receivedAt),
            "topic": message.topic,
            "stream": message.header.stream,
            "seq": message.header.seq,
            "header": header ?? NSNull(),
            "body": body
        ]
        return compactJSON(object)
    }

    func rawDump(_ frames: [[UInt8]], captured: Captured, receivedAt: Date) -> String {
        var lines: [String] = []
        switch captured {
        case .subscription(let subscribe, let prefix):
            lines.append("\(clock(receivedAt))  [\(subscribe ? "subscribe" : "unsubscribe") \"\(prefix)\"]")
        case .control(let command):
            lines.append("\(clock(receivedAt))  [proxy control \(command)]")
        case .messages(let messages) where messages.count > 1:
            lines.append(
                "\(clock(receivedAt))  bundle \(LogText.cut(messages[0].topic, maxBytes: 300)) of \(messages.count) events, \(frames.count) frames"
            )
        case .messages(let messages):
            lines.append("\(clock(receivedAt))  message \(LogText.cut(messages.first?.topic ?? "", maxBytes: 300)), \(frames.count) frames")
        case .malformed(let reason, _):
            lines.append("\(clock(receivedAt))  malformed (\(reason.rawValue)), \(frames.count) frames")
        }
        for (index, frame) in frames.enumerated() {
            // A JSON frame holding a secret-named field is dumped redacted, never as the original bytes.
            var bytes = frame
            var note = ""
            if let redacted = SecretRedactor.redactedJSON(frame), let text = compactJSON(redacted),
                Array(text.utf8) != frame, containsSecretField(frame)
            {
                bytes = Array(text.utf8)
                note = " (redacted)"
            }
            lines.append("  frame \(index) [\(frame.count) bytes]\(note)")
            lines.append(contentsOf: hexDump(bytes).map { "    " + $0 })
        }
        return lines.joined(separator: "\n")
    }

    private func containsSecretField(_ frame: [UInt8]) -> Bool {
        guard let value = try? JSONSerialization.jsonObject(with: Data(frame), options: [.fragmentsAllowed]) else {
            return false
        }
        func walk(_ value: Any) -> Bool {
            if let object = value as? [String: Any] {
                return object.contains { SecretRedactor.isSecretField($0.key) || walk($0.value) }
            }
            if let array = value as? [Any] { return array.contains(where: walk) }
            return false
        }
        return walk(value)
    }

    func hexDump(_ bytes: [UInt8]) -> [String] {
        stride(from: 0, to: bytes.count, by: 16).map { offset in
            let chunk = bytes[offset..<min(offset + 16, bytes.count)]
            let hex = chunk.map { String(format: "%02x", $0) }.joined(separator: " ")
            let ascii = String(chunk.map { (0x20...0x7e).contains($0) ? Character(UnicodeScalar($0)) : "." })
            return String(format: "%04x  ", offset) + hex.padding(toLength: 48, withPad: " ", startingAt: 0) + "  " + ascii
        }
    }

    private func clock(_ date: Date) -> String {
        date.formatted(.iso8601.time(includingFractionalSeconds: true))
    }
}

func compactJSON(_ value: Any) -> String? {
    guard JSONSerialization.isValidJSONObject(value) || value is String || value is NSNumber || value is NSNull,
        let data = try? JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
    else { return nil }
    return String(decoding: data, as: UTF8.self)
}
