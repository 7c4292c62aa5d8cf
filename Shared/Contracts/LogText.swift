/// Text from the wire on its way into a log line: cut to a bounded length and with control characters shown as
/// escapes, so a hostile topic or stream name can neither flood the log nor forge lines in it.
public enum LogText {
    public static let maxBytes = 100

    public static func cut(_ text: String, maxBytes: Int = LogText.maxBytes) -> String {
        var out = ""
        var used = 0
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar.value {
            case 0x0A: piece = "\\n"
            case 0x0D: piece = "\\r"
            case 0x09: piece = "\\t"
            case 0..<0x20, 0x7F, 0x80..<0xA0, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
                piece = "\\u{\(String(scalar.value, radix: 16))}"
            default: piece = String(scalar)
            }
            if used + piece.utf8.count > maxBytes { return out + "…" }
            out += piece
            used += piece.utf8.count
        }
        return out
    }
}
