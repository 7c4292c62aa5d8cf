import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime

@testable import RulesService

/// What a rule tells its channels, when a digest is due, and how each product's format carries hostile text.
@Suite("Notification decisions and formats")
struct NotifyTests {
    @Test("open once at the threshold, repeat only when asked and once per night, recovery only after an open")
    func plan() {
        func plan(_ phase: NotifyPlan.Phase, token: String = "night 2", repeats: Bool = false, _ announced: NotifyPlan.Announced?)
            -> NotifyPlan
        {
            NotifyPlan.make(phase, token: token, threshold: 2, repeats: repeats, announced: announced)
        }
        #expect(plan(.on(count: 1), nil) == .nothing)
        #expect(plan(.on(count: 2), nil) == .send(.open))
        #expect(plan(.on(count: 3), NotifyPlan.Announced(on: false, token: "night 1")) == .send(.open), "a new streak after a recovery")
        let told = NotifyPlan.Announced(on: true, token: "night 2", count: 2)
        #expect(plan(.on(count: 2), told) == .nothing, "the same night again (a replay, a re-poll)")
        #expect(plan(.on(count: 3), token: "night 3", told) == .nothing, "no repeat unless the rule asks")
        #expect(plan(.on(count: 3), token: "night 3", repeats: true, told) == .send(.repeat))
        #expect(plan(.on(count: 3), token: "night 2", repeats: true, told) == .nothing, "one repeat per night")
        #expect(plan(.over, told) == .send(.recovery))
        #expect(plan(.over, NotifyPlan.Announced(on: false, token: "night 2")) == .nothing, "recovery is told once")
        #expect(plan(.over, nil) == .nothing, "never a recovery of a problem nobody was told of")
        #expect(plan(.neither, told) == .nothing)
        // Told of a streak whose end was never seen (the rule was off then): a later streak is opened anew.
        let earlier = NotifyPlan.Announced(on: true, token: "night 5", count: 5)
        #expect(plan(.on(count: 2), token: "night 9", earlier) == .send(.open))
        #expect(plan(.on(count: 6), token: "night 6", earlier) == .nothing, "the same streak, a night on")
        #expect(plan(.on(count: 5), token: "night 5", earlier) == .nothing, "the same night again")
    }

    @Test("a digest at 07:30 in Amsterdam: the next one is 07:30 local, across the clocks going back and forward")
    func schedule() throws {
        let schedule = try #require(DigestSchedule(at: "07:30", timeZone: "Europe/Amsterdam"))
        let utc = ISO8601DateFormatter()
        // Winter (UTC+1): 06:30 UTC.
        #expect(schedule.next(after: try #require(utc.date(from: "2026-11-30T05:00:00Z"))) == utc.date(from: "2026-11-30T06:30:00Z"))
        #expect(schedule.next(after: try #require(utc.date(from: "2026-11-30T06:30:00Z"))) == utc.date(from: "2026-12-01T06:30:00Z"))
        // Summer (UTC+2), the day after the clocks went forward: 05:30 UTC.
        #expect(schedule.next(after: try #require(utc.date(from: "2026-03-29T01:00:00Z"))) == utc.date(from: "2026-03-29T05:30:00Z"))
        #expect(schedule.day(of: try #require(utc.date(from: "2026-11-30T23:30:00Z"))) == "2026-12-01", "local day, not UTC's")
        // 02:30 does not exist on 29 March 2026 in Amsterdam: the next minute that does.
        let gap = try #require(DigestSchedule(at: "02:30", timeZone: "Europe/Amsterdam"))
        let evening = try #require(utc.date(from: "2026-03-28T23:00:00Z"))
        let sent = try #require(gap.next(after: evening))
        #expect(sent > utc.date(from: "2026-03-29T00:59:00Z")! && sent <= utc.date(from: "2026-03-29T01:30:00Z")!, "\(sent)")
        for bad in [("7:30", "UTC"), ("24:00", "UTC"), ("07:60", "UTC"), ("07:30", "CEST"), ("07:30", "Mars/Olympus"), ("0７:30", "UTC")] {
            #expect(DigestSchedule(at: bad.0, timeZone: bad.1) == nil, "\(bad)")
        }
    }

    static let hostile = #"<img src=x onerror=alert(1)> [click](https://phish.example) & "quotes""#

    static var payload: WebhookPayload {
        WebhookPayload(
            delivery: "nt_7", event: .open, title: "Datto backup failing: \(hostile)", text: "Failed: \(hostile)\n.\nsecond line",
            ruleId: "ru_1", trigger: "failed-nights", customerId: "c_1", customerName: "Acme \(hostile)", agentName: hostile,
            deviceSerial: "S1", error: hostile, link: "https://vectis.example/#/customers/c_1",
            facts: [WebhookPayload.Fact(name: "Agent", value: hostile)],
            customers: [WebhookPayload.DigestCustomer(customerId: "c_1", customerName: hostile, problems: [hostile])],
            at: Date(timeIntervalSince1970: 1_790_000_000))
    }

    @Test("an e-mail's HTML part has no markup from outside; headers cannot be split; Subject is RFC 2047 when not ASCII")
    func email() throws {
        let message = ChannelFormats.email(
            Self.payload, from: "vectis@msp.example", to: ["noc@msp.example"], messageId: "vectis.nt_7@msp.example", date: Date())
        let (head, _) = try #require(message.range(of: "\r\n\r\n").map { (message[..<$0.lowerBound], message[$0.upperBound...]) })
        #expect(!head.contains("\n\n") && head.split(separator: "\r\n").allSatisfy { !$0.contains("\n") })
        #expect(head.contains("Message-ID: <vectis.nt_7@msp.example>") && head.contains("multipart/alternative"))
        // The parts are base64: decode the HTML one.
        let parts = message.components(separatedBy: "Content-Transfer-Encoding: base64\r\n\r\n").dropFirst().map {
            String(
                decoding: Data(base64Encoded: $0.components(separatedBy: "\r\n--").first!.replacingOccurrences(of: "\r\n", with: ""))!,
                as: UTF8.self)
        }
        #expect(parts.count == 2)
        let html = try #require(parts.last)
        #expect(!html.contains("<img") && html.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(parts.first?.contains(Self.hostile) == true, "the text part shows the text as it is")
        #expect(!message.split(separator: "\r\n").contains("."), "no line of the message ends the SMTP data")
        #expect(ChannelFormats.encodedWord("Sauvegarde échouée: FS01").hasPrefix("=?UTF-8?B?"))
        // Twenty long addresses: every header line stays within RFC 5322's 998 characters.
        let many = (0..<20).map { String(repeating: "n", count: 60) + "\($0)@" + String(repeating: "d", count: 60) + ".example" }
        let wide = ChannelFormats.email(Self.payload, from: "vectis@msp.example", to: many, messageId: "m@msp.example", date: Date())
        #expect(wide.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        #expect(ChannelFormats.encodedWord("evil\r\nBcc: all@example.com") == "evil  Bcc: all@example.com")
    }

    @Test("Slack escapes &, < and >; a Teams MessageCard escapes HTML; an Adaptive Card breaks markdown links from outside")
    func chatFormats() throws {
        // Slack reads mrkdwn (the preview, sections, fields) and shows plain_text as it is.
        let slack = ChannelFormats.slack(Self.payload)
        var mrkdwn = [slack["text"] as? String ?? ""]
        for block in slack["blocks"] as? [[String: Any]] ?? [] {
            if let text = block["text"] as? [String: Any], text["type"] as? String == "mrkdwn" {
                mrkdwn.append(text["text"] as? String ?? "")
            }
            for field in block["fields"] as? [[String: Any]] ?? [] { mrkdwn.append(field["text"] as? String ?? "") }
        }
        #expect(mrkdwn.count >= 4 && mrkdwn.allSatisfy { !$0.contains("<img") && !$0.contains("<") }, "\(mrkdwn)")
        #expect(mrkdwn.contains { $0.contains("&lt;img src=x onerror=alert(1)&gt;") })
        // A MessageCard's title, texts and facts take HTML.
        let card = ChannelFormats.teams(Self.payload, format: .messageCard)
        #expect(card["@type"] as? String == "MessageCard")
        let sections = card["sections"] as? [[String: Any]] ?? []
        var html = [card["title"] as? String ?? ""] + sections.map { $0["text"] as? String ?? "" }
        html += sections.flatMap { ($0["facts"] as? [[String: String]] ?? []).flatMap { [$0["name"] ?? "", $0["value"] ?? ""] } }
        #expect(html.count >= 4 && html.allSatisfy { !$0.contains("<img") } && html.contains { $0.contains("&lt;img") }, "\(html)")
        let adaptive = String(
            decoding: try JSONSerialization.data(withJSONObject: ChannelFormats.teams(Self.payload, format: .adaptiveCard)), as: UTF8.self)
        #expect(!adaptive.contains("](https://phish.example)"))
        #expect(adaptive.contains("AdaptiveCard") && adaptive.contains("Action.OpenUrl"))
    }

    @Test("the webhook signature is HMAC-SHA256 of \"timestamp.body\" (a known answer)")
    func signature() {
        // Computed independently: printf '1790000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec-0123456789abcdef'
        #expect(
            ChannelDelivery.signature(body: Data(#"{"a":1}"#.utf8), timestamp: "1790000000", secret: "whsec-0123456789abcdef")
                == "sha256=" + Self.knownSignature)
    }

    static let knownSignature = "9d0212ee490915153e5886a81c49baaffd307e2347fa3c4e45ce7c2d853de40d"

    @Test("a failed send is retried after 10 s, doubling to 15 minutes; given up after two days")
    func backoff() {
        #expect((1...9).map { NotificationQueue.backoff(attempts: $0) } == [10, 20, 40, 80, 160, 320, 640, 900, 900])
        #expect(NotificationQueue.backoff(attempts: Int.max) == 900 && NotificationQueue.backoff(attempts: Int.min) == 10)
        #expect(NotificationQueue.giveUpAfter == 2 * 86_400)
    }

    @Test("e-mail addresses that could end a header or an SMTP command are refused")
    func addresses() {
        for good in ["noc@msp.example", "first.last+backups@sub.msp.example"] { #expect(MailAddress.isValid(good), "\(good)") }
        for bad in [
            "noc@msp.example\r\nRCPT TO:<all@x.example>", "noc@msp.example>", "<noc@msp.example", "noc", "noc@localhost", "a b@x.example",
            "noc@msp.example,other@x.example", "@x.example", String(repeating: "a", count: 65) + "@x.example"
        ] {
            #expect(!MailAddress.isValid(bad), "\(bad)")
        }
    }
}
