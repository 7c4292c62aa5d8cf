import Foundation
import VectisAPI
import VectisContracts

/// Each product's own message format, drawn from the neutral payload. Every value from outside (agent, customer,
/// Datto's error text) is escaped for the format it lands in: it is shown, never interpreted.
enum ChannelFormats {
    /// Slack Block Kit: a header, the text, the facts as fields, a digest's customers, a button to the console.
    static func slack(_ payload: WebhookPayload) -> [String: Any] {
        func mrkdwn(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var blocks: [[String: Any]] = [
            ["type": "header", "text": ["type": "plain_text", "text": cut(payload.title, 150)]],
            ["type": "section", "text": ["type": "mrkdwn", "text": cut(mrkdwn(payload.text), 3_000)]]
        ]
        if !payload.facts.isEmpty {
            blocks.append([
                "type": "section",
                "fields": payload.facts.prefix(10).map {
                    ["type": "mrkdwn", "text": cut("*\(mrkdwn($0.name))*\n\(mrkdwn($0.value))", 2_000)]
                }
            ])
        }
        for customer in (payload.customers ?? []).prefix(40) {
            let lines = customer.problems.map { "• " + mrkdwn($0) }.joined(separator: "\n")
            blocks.append([
                "type": "section", "text": ["type": "mrkdwn", "text": cut("*\(mrkdwn(customer.customerName))*\n\(lines)", 3_000)]
            ])
        }
        if (payload.customers?.count ?? 0) > 40 {
            blocks.append([
                "type": "context", "elements": [["type": "mrkdwn", "text": "…and \(payload.customers!.count - 40) more customers"]]
            ])
        }
        if let link = payload.link {
            blocks.append([
                "type": "actions",
                "elements": [["type": "button", "text": ["type": "plain_text", "text": "Open in Vectis"], "url": link]]
            ])
        }
        // The top-level text (the notification's preview) is read as mrkdwn too; the header is plain text, shown as it is.
        return ["text": cut(mrkdwn(payload.title), 3_000), "blocks": blocks]
    }

    /// Teams: an Adaptive Card in the message envelope Workflows' "post to a channel when a webhook request is
    /// received" takes, or the legacy MessageCard of Office 365 connectors.
    static func teams(_ payload: WebhookPayload, format: TeamsFormat) -> [String: Any] {
        let facts = payload.facts.map { (cut($0.name, 100), cut($0.value, 1_000)) }
        // Teams refuses large cards (about 28 KB): a digest shows the first 25 customers and 5 lines each, and says
        // how many more there are; the console has the whole list.
        let all = payload.customers ?? []
        let customers = all.prefix(25).map { customer -> WebhookPayload.DigestCustomer in
            var shown = customer
            shown.problems = customer.problems.prefix(5).map { cut($0, 300) }
            if customer.problems.count > 5 { shown.problems.append("…and \(customer.problems.count - 5) more") }
            return shown
        }
        let moreCustomers = all.count > 25 ? "…and \(all.count - 25) more customers" : nil
        switch format {
        case .messageCard:
            func html(_ text: String) -> String { HTMLText.escape(text) }
            var sections: [[String: Any]] = [
                ["text": html(cut(payload.text, 3_000)), "facts": facts.map { ["name": html($0.0), "value": html($0.1)] }]
            ]
            for customer in customers {
                sections.append([
                    "activityTitle": html(customer.customerName),
                    "text": customer.problems.map { html($0) }.joined(separator: "<br>")
                ])
            }
            if let moreCustomers { sections.append(["text": html(moreCustomers)]) }
            var card: [String: Any] = [
                "@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": cut(payload.title, 150),
                "themeColor": color(payload.event), "title": html(cut(payload.title, 300)), "sections": sections
            ]
            if let link = payload.link {
                card["potentialAction"] = [
                    ["@type": "OpenUri", "name": "Open in Vectis", "targets": [["os": "default", "uri": link]]]
                ]
            }
            return card
        case .adaptiveCard:
            // Markdown links in text from outside are broken apart, so a name cannot become a link.
            func plain(_ text: String) -> String { text.replacingOccurrences(of: "](", with: "]\u{200B}(") }
            var body: [[String: Any]] = [
                [
                    "type": "TextBlock", "text": plain(cut(payload.title, 300)), "weight": "Bolder", "size": "Medium", "wrap": true,
                    "color": payload.event == .recovery
                        ? "Good" : payload.event == .test || payload.event == .digest ? "Default" : "Attention"
                ],
                ["type": "TextBlock", "text": plain(cut(payload.text, 3_000)), "wrap": true]
            ]
            if !facts.isEmpty {
                body.append(["type": "FactSet", "facts": facts.map { ["title": plain($0.0), "value": plain($0.1)] }])
            }
            for customer in customers {
                body.append([
                    "type": "TextBlock", "text": plain(customer.customerName), "weight": "Bolder", "wrap": true, "spacing": "Medium"
                ])
                body.append(["type": "TextBlock", "text": customer.problems.map { "- " + plain($0) }.joined(separator: "\n"), "wrap": true])
            }
            if let moreCustomers { body.append(["type": "TextBlock", "text": moreCustomers, "wrap": true, "isSubtle": true]) }
            var card: [String: Any] = [
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body
            ]
            if let link = payload.link { card["actions"] = [["type": "Action.OpenUrl", "title": "Open in Vectis", "url": link]] }
            return [
                "type": "message",
                "attachments": [["contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": NSNull(), "content": card]]
            ]
        }
    }

    static func color(_ event: NotificationEvent) -> String {
        switch event {
        case .open, .repeat: "D70000"
        case .recovery: "2EB886"
        case .digest, .test: "0078D7"
        }
    }

    /// A multipart/alternative e-mail (plain text and HTML, both base64 so no line of it can end the SMTP data),
    /// CRLF line ends. `messageId` is the same on every retry of one message.
    static func email(_ payload: WebhookPayload, from: String, to: [String], messageId: String, date: Date) -> String {
        let boundary = "vectis-" + UUID().uuidString
        var text = payload.text + "\n"
        if !payload.facts.isEmpty { text += "\n" + payload.facts.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n" }
        for customer in payload.customers ?? [] {
            text += "\n\(customer.customerName)\n" + customer.problems.map { "  - \($0)" }.joined(separator: "\n") + "\n"
        }
        if let link = payload.link { text += "\nOpen in Vectis: \(link)\n" }
        var html = "<!doctype html><html><body style=\"font-family:sans-serif\">"
        html += "<h2>\(HTMLText.escape(payload.title))</h2>" + HTMLText.paragraph(payload.text)
        if !payload.facts.isEmpty {
            html += "<table cellpadding=\"4\">"
            html += payload.facts.map {
                "<tr><th align=\"left\">\(HTMLText.escape($0.name))</th><td>\(HTMLText.escape($0.value))</td></tr>"
            }
            .joined()
            html += "</table>"
        }
        for customer in payload.customers ?? [] {
            html += "<h3>\(HTMLText.escape(customer.customerName))</h3><ul>"
            html += customer.problems.map { "<li>\(HTMLText.escape($0))</li>" }.joined() + "</ul>"
        }
        if let link = payload.link, link.hasPrefix("https://") || link.hasPrefix("http://") {
            html += "<p><a href=\"\(HTMLText.escape(link))\">Open in Vectis</a></p>"
        }
        html += "</body></html>"
        let headers = [
            "From: Vectis <\(from)>",
            // Folded, one address a line: 20 long addresses stay within the 998-character line limit.
            "To: " + to.joined(separator: ",\r\n "),
            "Subject: " + encodedWord(cut(payload.title, 200)),
            "Date: " + rfc5322(date),
            "Message-ID: <\(messageId)>",
            "MIME-Version: 1.0",
            "X-Vectis-Event: \(payload.event.rawValue)",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\""
        ]
        func part(_ type: String, _ body: String) -> String {
            "--\(boundary)\r\nContent-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64Lines(body)
                + "\r\n"
        }
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + part("text/plain", text) + part("text/html", html) + "--\(boundary)--\r\n"
    }

    /// RFC 2047: ASCII text as it is (without line breaks), anything else as UTF-8 base64 encoded words.
    static func encodedWord(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if flat.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value < 127 }) && !flat.contains("=?") { return flat }
        // Encoded words are at most 75 characters: split the text into pieces of at most 45 bytes, on character bounds.
        var words: [String] = []
        var piece = ""
        for character in flat {
            if piece.utf8.count + String(character).utf8.count > 45 {
                words.append(piece)
                piece = ""
            }
            piece.append(character)
        }
        if !piece.isEmpty { words.append(piece) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func base64Lines(_ text: String) -> String {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[index..<end])
            index = end
        }
        return lines.joined(separator: "\r\n")
    }

    static func rfc5322(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    static func cut(_ text: String, _ characters: Int) -> String {
        text.count <= characters ? text : String(text.prefix(characters - 1)) + "…"
    }
}
