/// Text placed in HTML — a HaloPSA ticket body, a page the console builds — is escaped: an agent name or a Datto
/// error message of `<img src=x onerror=…>` must arrive as text, never as markup.
public enum HTMLText {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Escaped, with line breaks as `<br>`.
    public static func paragraph(_ text: String) -> String {
        "<p>" + escape(text).replacingOccurrences(of: "\n", with: "<br>") + "</p>"
    }
}
