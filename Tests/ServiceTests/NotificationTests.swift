import Crypto
import DattoSandbox
import Foundation
import ServiceLifecycle
import Synchronization
import Testing
import VectisAPI
import VectisBus
import VectisContracts
import VectisRuntime
import VectisTestSupport

extension SystemHarness {
    func addChannel(_ body: [String: Any]) async throws -> ChannelView {
        let created = try await rules("/v1/channels", "POST", body)
        #expect(created.status == 201, "\(created.body)")
        return try APIJSON.decode(ChannelView.self, from: Data(created.body.utf8))
    }

    func channel(_ id: String) async throws -> ChannelView { try await rules("/v1/channels/\(id)", as: ChannelView.self) }

    func notifications(channel: String) async throws -> [NotificationView] {
        try await rules("/v1/notifications?channel=\(channel)", as: NotificationList.self).notifications
    }
}

/// The four channel kinds pointed at the sinks: e-mail (STARTTLS + AUTH), Teams (Adaptive Card), Slack, signed webhook.
struct NotifyChannels {
    static let signingSecret = "whsec-0123456789abcdef"
    var email: ChannelView
    var teams: ChannelView
    var slack: ChannelView
    var webhook: ChannelView
    var all: [ChannelView] { [email, teams, slack, webhook] }

    static func email(_ smtp: SMTPSink, password: String? = nil, extra: [String: Any] = [:]) -> [String: Any] {
        var body: [String: Any] = [
            "name": "NOC mailbox", "kind": "email",
            "settings": [
                "smtpHost": "localhost", "smtpPort": smtp.port, "smtpSecurity": "starttls", "smtpUsername": smtp.user,
                "from": "vectis@msp.example", "to": ["noc@msp.example", "oncall@msp.example"]
            ],
            "secrets": ["smtpPassword": password ?? smtp.password]
        ]
        body.merge(extra) { $1 }
        return body
    }

    static func add(_ harness: SystemHarness, smtp: SMTPSink, hooks: WebhookSink) async throws -> NotifyChannels {
        NotifyChannels(
            email: try await harness.addChannel(email(smtp)),
            teams: try await harness.addChannel(["name": "NOC Teams", "kind": "teams", "secrets": ["webhookURL": hooks.url + "/teams"]]),
            slack: try await harness.addChannel(["name": "#backups", "kind": "slack", "secrets": ["webhookURL": hooks.url + "/slack"]]),
            webhook: try await harness.addChannel([
                "name": "Rewst", "kind": "webhook", "secrets": ["webhookURL": hooks.url + "/hook", "signingSecret": signingSecret]
            ]))
    }
}

/// Runs `body` with an SMTP server and an HTTP sink up.
func withNotificationSinks(_ body: (SMTPSink, WebhookSink) async throws -> Void) async throws {
    let smtp = try await SMTPSink()
    defer { smtp.stop() }
    let hooks = try WebhookSink()
    let group = ServiceGroup(services: [hooks.application()], gracefulShutdownSignals: [], logger: TestBus.quietLogger)
    try await withRunning(group) {
        #expect(await waitUntilListening(hooks.port))
        try await body(smtp, hooks)
    }
}

@Suite("Notifications: e-mail, Teams, Slack and signed webhooks, against real sinks", .serialized)
struct NotificationTests {
    static let fleet = FleetConfiguration(
        customers: 3, devicesPerCustomer: 1, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0)
    static let console = "https://vectis.msp.example"
    /// Bounds each SMTP exchange: generous, since Python's SMTP server answers slowly while the whole suite runs.
    static let smtpTimeout: Duration = .seconds(20)

    /// The agent of customer `index` (its volume, agent name and customer name).
    static func agent(_ harness: SystemHarness, customer index: Int) throws -> (
        volume: String, name: String, customer: String, id: String
    ) {
        let device = harness.sandbox.inventory()[index]
        let asset = try #require(device.assets.first)
        return (asset.volume, asset.name, device.companyName ?? "", StableID.customer(tenant: "default", key: expectedCustomerKey(device)))
    }

    @Test(
        "two failed nights send exactly one message per channel with agent, customer, error and link; a replay sends nothing; recovery sends one; the webhook's HMAC verifies"
    )
    func lifecycle() async throws {
        try await withNotificationSinks { smtp, hooks in
            try await SystemHarness.with(
                fleet: Self.fleet, psaTimeout: Self.smtpTimeout,
                configureRules: {
                    $0.extraTrustRoots = smtp.certificate
                    $0.consoleURL = Self.console
                }
            ) { harness in
                try await harness.configure()
                try await harness.waitForHistory()
                let channels = try await NotifyChannels.add(harness, smtp: smtp, hooks: hooks)
                let rule = try await harness.enableRule(
                    "connectwise", action: "notify", extra: ["notifyChannels": channels.all.map(\.id)])
                let shown = try await harness.rules("/v1/rules/\(rule)", as: RuleView.self)
                #expect(shown.notifyChannels == channels.all.map(\.id) && shown.action == .notify)
                let agent = try Self.agent(harness, customer: 0)
                #expect(harness.sandbox.fail(volume: agent.volume, nights: 3))
                func counts() -> [Int] {
                    [smtp.messages().count, hooks.requests("/teams").count, hooks.requests("/slack").count, hooks.requests("/hook").count]
                }

                try await harness.nextNight()
                try await Task.sleep(for: .seconds(2))
                #expect(counts() == [0, 0, 0, 0], "one failed night is below the threshold")

                try await harness.nextNight()
                let recorded = ContinuousClock.now
                #expect(await eventually { counts() == [1, 1, 1, 1] }, "\(counts())")
                print(
                    "notifications: the second failed night reached e-mail, Teams, Slack and the webhook \(recorded.duration(to: .now)) after it was recorded"
                )
                let error = try #require(
                    harness.sandbox.visibleRunDetails().last { $0.volume == agent.volume && !$0.succeeded }?.errorMessage)
                let link = "\(Self.console)/#/customers/\(agent.id)"

                // E-mail: multipart text + HTML, read by Python's own parser; escaping of the HTML part.
                let mail = try #require(smtp.messages().first)
                #expect(mail.authenticated && mail.multipart == "multipart/alternative" && mail.event == "open")
                #expect(mail.to == ["noc@msp.example", "oncall@msp.example"] && mail.from == "vectis@msp.example")
                #expect(mail.subject.contains(agent.name) && mail.subject.contains(agent.customer), "\(mail.subject)")
                for part in [mail.text ?? "", mail.html ?? ""] {
                    #expect(part.contains(agent.name) && part.contains(agent.customer) && part.contains(link), "\(part)")
                    #expect(part.contains(HTMLEscaped.maybe(error, html: part == mail.html)), "\(part)")
                }

                // Slack blocks, a Teams Adaptive Card, and the signed JSON.
                let slack = try #require(hooks.requests("/slack").first).json
                let blocks = try #require(slack["blocks"] as? [[String: Any]])
                #expect(blocks.first?["type"] as? String == "header")
                let slackText = String(decoding: try #require(hooks.requests("/slack").first).body, as: UTF8.self)
                #expect(slackText.contains(agent.name) && slackText.contains(agent.customer) && slackText.contains(link))
                let teams = try #require(hooks.requests("/teams").first).json
                let attachment = try #require((teams["attachments"] as? [[String: Any]])?.first)
                #expect(attachment["contentType"] as? String == "application/vnd.microsoft.card.adaptive")
                #expect((attachment["content"] as? [String: Any])?["type"] as? String == "AdaptiveCard")
                let teamsText = String(decoding: try #require(hooks.requests("/teams").first).body, as: UTF8.self)
                #expect(teamsText.contains(agent.name) && teamsText.contains(link))

                let hook = try #require(hooks.requests("/hook").first)
                let payload = try APIJSON.decode(WebhookPayload.self, from: hook.body)
                #expect(payload.event == .open && payload.agentName == agent.name && payload.customerName == agent.customer)
                #expect(payload.error == error && payload.link == link && payload.ruleId == rule && payload.customerId == agent.id)
                let timestamp = try #require(hook.headers["x-vectis-timestamp"])
                let mac = HMAC<SHA256>.authenticationCode(
                    for: Data("\(timestamp).".utf8) + hook.body, using: SymmetricKey(data: Data(NotifyChannels.signingSecret.utf8)))
                #expect(hook.headers["x-vectis-signature"] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined())
                #expect(hook.headers["x-vectis-delivery"] == payload.delivery && payload.delivery.hasPrefix("nt_"))
                // A signature over anything else does not match.
                let forged = HMAC<SHA256>.authenticationCode(
                    for: Data("\(timestamp).".utf8) + hook.body + Data(" ".utf8),
                    using: SymmetricKey(data: Data(NotifyChannels.signingSecret.utf8)))
                #expect(hook.headers["x-vectis-signature"] != "sha256=" + forged.map { String(format: "%02x", $0) }.joined())
                for channel in channels.all {
                    let status = try await harness.channel(channel.id)
                    #expect(status.status == .ok && status.lastSentAt != nil && status.waiting == 0, "\(status)")
                }

                // Replay every backup.job.recorded of the backups stream to the rules service: nothing is sent again.
                let skippedBefore = try await harness.rulesMetric("vectis_bus_duplicates_skipped_total")
                let replayer = try ReliableNode(harness.bus, service: "alerts", instance: "replayer")
                #expect(await replayer.waitUntilReady())
                // Asked again every 5 s until served: the owner serves only requesters whose heartbeat came through lately,
                // and with the whole suite running a heartbeat (or the request) can be late.
                var replayed = false
                for _ in 0..<12 where !replayed {
                    replayer.bus.connection.publisher.publishControl(
                        BusReplayRequested(
                            stream: "backups/test", topic: Shard.wireTopic(BackupJobRecorded.topic, tenant: "default"), fromSeq: 1,
                            requestedBy: replayer.stream, reason: .gap))
                    replayed = try await eventually(timeout: .seconds(5)) {
                        try await harness.rulesMetric("vectis_bus_duplicates_skipped_total") > skippedBefore
                    }
                }
                #expect(replayed, "the backups stream was replayed to the rules service")
                try await replayer.stop()
                try await Task.sleep(for: .seconds(2))
                #expect(counts() == [1, 1, 1, 1], "a replay sends nothing")

                // A third failed night: no repeat (the rule does not repeat).
                try await harness.nextNight()
                try await Task.sleep(for: .seconds(2))
                #expect(counts() == [1, 1, 1, 1], "no repeat unless the rule says so")

                // Recovery: one message per channel.
                #expect(harness.sandbox.recover(volume: agent.volume))
                try await harness.nextNight()
                #expect(await eventually { counts() == [2, 2, 2, 2] }, "\(counts())")
                let recovery = try APIJSON.decode(WebhookPayload.self, from: try #require(hooks.requests("/hook").last).body)
                #expect(recovery.event == .recovery && recovery.title.hasPrefix("Recovered:") && recovery.agentName == agent.name)
                #expect(smtp.messages().last?.event == "recovery")
                try await harness.nextNight()
                try await Task.sleep(for: .seconds(1))
                #expect(counts() == [2, 2, 2, 2], "recovery is told once")
                let kinds = try await harness.history(rule).map(\.kind)
                #expect(kinds.filter { $0 == "notify" }.count == 2, "\(kinds)")
                #expect(try await harness.notifications(channel: channels.email.id).map(\.event) == [.recovery, .open])
                // Each message went once: one attempt, one request.
                for channel in channels.all {
                    #expect(try await harness.notifications(channel: channel.id).allSatisfy { $0.attempts == 1 && $0.state == .sent })
                }
                for path in ["/teams", "/slack", "/hook"] {
                    let deliveries = hooks.requests(path).compactMap { $0.headers["x-vectis-delivery"] }
                    #expect(Set(deliveries).count == deliveries.count, "\(path): \(deliveries)")
                }
            }
        }
    }

    @Test(
        "a bad SMTP password is reported in the channel's status in the server's own words; the message waits and goes once the password is fixed"
    )
    func badPassword() async throws {
        try await withNotificationSinks { smtp, hooks in
            try await SystemHarness.with(
                fleet: Self.fleet, psaTimeout: Self.smtpTimeout, configureRules: { $0.extraTrustRoots = smtp.certificate }
            ) {
                harness in
                try await harness.configure()
                try await harness.waitForHistory()
                let email = try await harness.addChannel(NotifyChannels.email(smtp, password: "wrong password"))
                #expect(!email.secretsSet.isEmpty && !String(describing: email).contains("wrong password"))

                // The Test button says what the server said.
                let test = try await harness.rules("/v1/channels/\(email.id)/test", "POST", [:], as: ChannelTestOutcome.self)
                #expect(!test.ok && test.error?.contains("535 5.7.8 Authentication credentials invalid") == true, "\(test)")

                _ = try await harness.enableRule("connectwise", action: "notify", extra: ["notifyChannels": [email.id]])
                let agent = try Self.agent(harness, customer: 1)
                #expect(harness.sandbox.fail(volume: agent.volume, nights: 3))
                try await harness.nextNight()
                try await harness.nextNight()
                // Tried once, failed, and waiting for its retry.
                #expect(
                    try await eventually {
                        let first = try await harness.notifications(channel: email.id).first
                        return first?.state == .pending && first?.attempts ?? 0 >= 1
                    })
                let status = try await harness.channel(email.id)
                #expect(status.status == .failing && status.waiting == 1, "\(status)")
                #expect(status.lastError?.contains("AUTH: 535 5.7.8 Authentication credentials invalid") == true, "\(status)")
                let waiting = try #require(try await harness.notifications(channel: email.id).first)
                #expect(waiting.state == .pending && waiting.attempts >= 1 && waiting.lastError?.contains("535") == true, "\(waiting)")
                #expect(smtp.messages().isEmpty)
                let listed = try await harness.rules("/v1/channels").body
                #expect(!listed.contains("wrong password") && !listed.contains(smtp.password))

                // Fixed: the waiting message goes at once (an edit makes the channel's queue due), exactly once.
                let fixed = try await harness.rules("/v1/channels/\(email.id)", "PATCH", ["secrets": ["smtpPassword": smtp.password]])
                #expect(fixed.status == 200, "\(fixed.body)")
                #expect(try await eventually { smtp.messages().count == 1 })
                #expect(smtp.messages().first?.subject.contains(agent.name) == true)
                #expect(try await eventually { try await harness.channel(email.id).status == .ok })
                #expect(try await harness.notifications(channel: email.id).first?.state == .sent)
                try await Task.sleep(for: .seconds(1))
                #expect(smtp.messages().count == 1)
                // The Test button with the right password: a test message arrives.
                let retest = try await harness.rules("/v1/channels/\(email.id)/test", "POST", [:], as: ChannelTestOutcome.self)
                #expect(retest.ok, "\(retest)")
                #expect(smtp.messages().last?.event == "test")
                _ = hooks
            }
        }
    }

    @Test("the daily digest at its local time lists exactly the customers with failing or missed agents, once per day")
    func digest() async throws {
        let offset = Mutex<TimeInterval>(0)
        try await withNotificationSinks { smtp, hooks in
            try await SystemHarness.with(
                fleet: Self.fleet, psaTimeout: Self.smtpTimeout,
                configureRules: {
                    $0.extraTrustRoots = smtp.certificate
                    $0.clock = { Date() + offset.withLock { $0 } }
                }
            ) { harness in
                try await harness.configure()
                try await harness.waitForHistory()
                let failing = [try Self.agent(harness, customer: 0), try Self.agent(harness, customer: 2)]
                let healthy = try Self.agent(harness, customer: 1)
                for agent in failing { #expect(harness.sandbox.fail(volume: agent.volume, nights: 5)) }
                try await harness.nextNight()
                // The digest's time: two hours from now in Amsterdam.
                let zone = TimeZone(identifier: "Europe/Amsterdam")!
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                let due = Date() + 2 * 3_600
                let at = String(format: "%02d:%02d", calendar.component(.hour, from: due), calendar.component(.minute, from: due))
                let hook = try await harness.addChannel([
                    "name": "Digest hook", "kind": "webhook",
                    "secrets": ["webhookURL": hooks.url + "/digest", "signingSecret": NotifyChannels.signingSecret], "digestAt": at,
                    "digestTimeZone": "Europe/Amsterdam"
                ])
                let email = try await harness.addChannel(
                    NotifyChannels.email(smtp, extra: ["digestAt": at, "digestTimeZone": "Europe/Amsterdam"]))
                let next = try #require(hook.nextDigestAt)
                #expect(next > Date() + 3_600 && next <= due, "\(next) for \(at)")
                try await Task.sleep(for: .seconds(2))
                #expect(hooks.requests("/digest").isEmpty && (smtp.messages().isEmpty), "not before its time")

                offset.withLock { $0 = 2 * 3_600 + 60 }
                #expect(try await eventually { hooks.requests("/digest").count == 1 && (smtp.messages().count) == 1 })
                let digest = try APIJSON.decode(WebhookPayload.self, from: try #require(hooks.requests("/digest").first).body)
                #expect(digest.event == .digest)
                #expect(Set(digest.customers?.map(\.customerName) ?? []) == Set(failing.map(\.customer)), "\(digest)")
                #expect(Set(digest.customers?.map(\.customerId) ?? []) == Set(failing.map(\.id)))
                for customer in digest.customers ?? [] {
                    #expect(customer.problems.count == 1 && customer.problems[0].contains("failed 1 night in a row"), "\(customer)")
                }
                let mail = try #require(smtp.messages().first)
                #expect(mail.event == "digest")
                for agent in failing { #expect(mail.text?.contains(agent.customer) == true && mail.html?.contains(agent.name) == true) }
                #expect(mail.text?.contains(healthy.customer) == false)
                let moved = try await harness.channel(hook.id)
                #expect(try #require(moved.nextDigestAt) > next + 23 * 3_600, "the next digest is a day later")
                try await Task.sleep(for: .seconds(2))
                #expect(hooks.requests("/digest").count == 1, "once a day")
                _ = email

                // "Send digest now" after a recovery: the recovered customer is gone from the list.
                #expect(harness.sandbox.recover(volume: failing[0].volume))
                try await harness.nextNight()
                let queued = try await harness.rules("/v1/channels/\(hook.id)/digest", "POST", [:])
                #expect(queued.status == 202, "\(queued.body)")
                #expect(try await eventually { hooks.requests("/digest").count == 2 })
                let second = try APIJSON.decode(WebhookPayload.self, from: try #require(hooks.requests("/digest").last).body)
                #expect(second.customers?.map(\.customerName) == [failing[1].customer], "\(second)")
            }
        }
    }

    @Test(
        "a repeating rule tells each further night once; past the channel's rate the rest wait (none dropped) and go when the hour has passed"
    )
    func repeatAndRate() async throws {
        let offset = Mutex<TimeInterval>(0)
        try await withNotificationSinks { _, hooks in
            try await SystemHarness.with(
                fleet: Self.fleet, configureRules: { $0.clock = { Date() + offset.withLock { $0 } } }
            ) {
                harness in
                try await harness.configure()
                try await harness.waitForHistory()
                let hook = try await harness.addChannel([
                    "name": "Rate-limited hook", "kind": "webhook",
                    "secrets": ["webhookURL": hooks.url + "/hook", "signingSecret": NotifyChannels.signingSecret], "ratePerHour": 2
                ])
                _ = try await harness.enableRule(
                    "connectwise", action: "notify", extra: ["notifyChannels": [hook.id], "notifyRepeat": true])
                let agents = [try Self.agent(harness, customer: 0), try Self.agent(harness, customer: 1)]
                for agent in agents { #expect(harness.sandbox.fail(volume: agent.volume, nights: 5)) }
                try await harness.nextNight()
                try await harness.nextNight()
                #expect(try await eventually { hooks.requests("/hook").count == 2 })
                try await harness.nextNight()
                // Two repeats are due, but the channel has sent its two this hour.
                #expect(
                    try await eventually {
                        let waiting = try await harness.notifications(channel: hook.id).filter { $0.state == .pending }
                        return waiting.count == 2 && waiting.allSatisfy { $0.lastError?.contains("rate limit (2 per hour)") == true }
                    })
                #expect(hooks.requests("/hook").count == 2)
                #expect(try await harness.channel(hook.id).waiting == 2)
                offset.withLock { $0 = 3_700 }
                #expect(try await eventually { hooks.requests("/hook").count == 4 })
                let events = try hooks.requests("/hook").map { try APIJSON.decode(WebhookPayload.self, from: $0.body).event }
                #expect(events == [.open, .open, .repeat, .repeat], "\(events)")
                let repeated = try APIJSON.decode(WebhookPayload.self, from: try #require(hooks.requests("/hook").last).body)
                #expect(repeated.title.hasPrefix("Still failing:") && repeated.text.contains("3 nights in a row"), "\(repeated)")
            }
        }
    }

    @Test("vectis channels: add with the secret on stdin, list, test, a notify-only rule, digest now, sent, remove refused while in use")
    func commandLine() async throws {
        try await withNotificationSinks { _, hooks in
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                let connection = ["--url", harness.rulesURL, "--token", CollectorHarness.token]
                var outputs: [String] = []
                func vectis(_ arguments: [String], input: String? = nil) async throws -> (status: Int32?, output: String) {
                    let process = try RunningProcess("vectis", arguments + connection)
                    if let input { process.send(input) }
                    let status = await process.waitForExit(timeout: .seconds(60))
                    outputs.append(process.stdout + process.stderr)
                    return (status, process.stdout + process.stderr)
                }
                let added = try await vectis(
                    ["channels", "add", "webhook", "Rewst hook", "--secrets-stdin"],
                    input: #"{"webhookURL":"\#(hooks.url)/cli","signingSecret":"\#(NotifyChannels.signingSecret)"}"#)
                #expect(added.status == 0 && added.output.contains("Added Rewst hook as ch_1"), "\(added.output)")
                let listed = try await vectis(["channels", "list"])
                #expect(listed.output.contains("Rewst hook") && listed.output.contains("untested"), "\(listed.output)")
                let tested = try await vectis(["channels", "test", "ch_1"])
                #expect(tested.status == 0 && tested.output.contains("Delivered a test message"), "\(tested.output)")
                #expect(hooks.requests("/cli").count == 1)
                let rule = try await vectis(
                    [
                        "rules", "enable", "datto-fails-2-nights-connectwise", "--action", "notify", "--notify", "ch_1", "--dry-run-hours",
                        "0"
                    ])
                #expect(rule.status == 0 && rule.output.contains("Enabled"), "\(rule.output)")
                #expect(try await vectis(["rules", "list"]).output.contains("notify, tells ch_1"))
                let digest = try await vectis(["channels", "digest", "ch_1"])
                #expect(digest.status == 0 && digest.output.contains("Queued nt_"), "\(digest.output)")
                #expect(try await eventually { hooks.requests("/cli").count == 2 })
                #expect(try await eventually { try await vectis(["channels", "sent"]).output.contains("digest") })
                let removed = try await vectis(["channels", "remove", "ch_1"])
                #expect(removed.status != 0 && removed.output.contains("notify this channel"), "\(removed.output)")
                #expect(outputs.allSatisfy { !$0.contains(NotifyChannels.signingSecret) })
            }
        }
    }

    @Test(
        "TLS from the first byte (port 465) delivers with AUTH; a server whose certificate is not trusted hears no password and gets no mail"
    )
    func tlsAndUntrustedCertificates() async throws {
        let implicit = try await SMTPSink(implicitTLS: true)
        defer { implicit.stop() }
        let untrusted = try await SMTPSink()
        defer { untrusted.stop() }
        try await SystemHarness.with(
            fleet: Self.fleet, psaTimeout: Self.smtpTimeout, configureRules: { $0.extraTrustRoots = implicit.certificate }
        ) {
            harness in
            var body = NotifyChannels.email(implicit)
            var settings = try #require(body["settings"] as? [String: Any])
            settings["smtpSecurity"] = "tls"
            body["settings"] = settings
            let tls = try await harness.addChannel(body)
            let sent = try await harness.rules("/v1/channels/\(tls.id)/test", "POST", [:], as: ChannelTestOutcome.self)
            #expect(sent.ok, "\(sent)")
            #expect(implicit.messages().first?.authenticated == true && implicit.messages().first?.event == "test")

            let refused = try await harness.addChannel(NotifyChannels.email(untrusted))
            let test = try await harness.rules("/v1/channels/\(refused.id)/test", "POST", [:], as: ChannelTestOutcome.self)
            #expect(!test.ok && test.error?.contains("TLS with localhost") == true, "\(test)")
            #expect(untrusted.messages().isEmpty)
            #expect(try await harness.channel(refused.id).status == .failing)
        }
    }

    @Test(
        "a receiver that never answers delays only its own channel: the others are delivered meanwhile, and its batch ends at the first timeout"
    )
    func silentReceiver() async throws {
        let port = try freePort()
        let silent = try RunningProcess("/usr/bin/env", ["python3", "-c", Self.hostileSMTP, String(port), "silent", "/dev/null"])
        defer { silent.signal(SIGTERM) }
        try await silent.waitForOutput("ready")
        try await withNotificationSinks { _, hooks in
            try await SystemHarness.with(fleet: Self.fleet) { harness in
                try await harness.configure()
                try await harness.waitForHistory()
                let slow = try await harness.addChannel([
                    "name": "Silent", "kind": "slack", "secrets": ["webhookURL": "http://127.0.0.1:\(port)/never"]
                ])
                let fast = try await harness.addChannel(["name": "Fast", "kind": "slack", "secrets": ["webhookURL": hooks.url + "/fast"]])
                _ = try await harness.enableRule("connectwise", action: "notify", extra: ["notifyChannels": [slow.id, fast.id]])
                for index in 0..<3 { #expect(harness.sandbox.fail(volume: try Self.agent(harness, customer: index).volume, nights: 5)) }
                try await harness.nextNight()
                try await harness.nextNight()
                #expect(try await eventually { hooks.requests("/fast").count == 3 })
                // While the silent receiver holds its channel's batch, the fast channel's digest goes at once.
                let queued = ContinuousClock.now
                #expect(try await harness.rules("/v1/channels/\(fast.id)/digest", "POST", [:]).status == 202)
                #expect(try await eventually(timeout: .seconds(3)) { hooks.requests("/fast").count == 4 })
                print("notifications: a digest went \(queued.duration(to: .now)) after it was queued while another channel's receiver hung")
                // The silent channel: one attempt timed out and ended its batch; the other two wait for its retry (10 s).
                #expect(
                    try await eventually {
                        let notes = try await harness.notifications(channel: slow.id)
                        return notes.filter { $0.attempts == 1 && $0.state == .pending }.count == 1
                            && notes.filter { $0.attempts == 0 }.count == 2
                    })
                try await Task.sleep(for: .seconds(3))
                #expect(try await harness.notifications(channel: slow.id).filter { $0.attempts == 0 }.count == 2, "still waiting")
                #expect(try await harness.channel(slow.id).lastError == "127.0.0.1 did not answer within 5 s")
                let notes = try await harness.notifications(channel: slow.id)
                #expect(try await harness.channel(slow.id).status == .failing, "\(notes)")
            }
        }
    }

    @Test("channel doors: the admin token to change, secrets never shown, bad addresses and kinds refused, a channel in use kept")
    func doors() async throws {
        try await SystemHarness.with(fleet: Self.fleet, upstreams: UpstreamPolicy()) { harness in
            let base = harness.rulesURL
            let body: [String: Any] = [
                "name": "Slack", "kind": "slack", "secrets": ["webhookURL": "https://hooks.slack.com/services/T000/B000/XXXXSECRET"]
            ]
            #expect(try await HTTP.send("POST", base + "/v1/channels", body).status == 401)
            #expect(try await HTTP.send("POST", base + "/v1/channels", body, bearer: CollectorHarness.readToken).status == 401)
            var stray = body
            stray["settings"] = ["to": ["not-an-address"], "smtpHost": ""]
            stray["secrets"] = ["webhookURL": "https://hooks.slack.com/services/T000/B000/XXXXSECRET", "smtpPassword": "stray"]
            let slack = try await harness.addChannel(stray)
            // Only what a Slack channel uses is kept.
            #expect(slack.secretsSet == ["webhookURL"] && slack.status == .untested && slack.settings == ChannelSettings(), "\(slack)")
            for path in ["/v1/channels", "/v1/channels/\(slack.id)", "/v1/notifications"] {
                #expect(try await HTTP.send("GET", base + path).status == 401)
                let read = try await HTTP.send("GET", base + path, bearer: CollectorHarness.readToken)
                #expect(read.status == 200 && !read.body.contains("XXXXSECRET"), "\(path): \(read.body)")
            }
            for (bad, expected) in [
                (["name": "x", "kind": "pager"], "kind must be"),
                (["name": "x", "kind": "slack", "secrets": ["webhookURL": "http://hooks.slack.com/x"]], "https"),
                (["name": "x", "kind": "teams", "secrets": ["webhookURL": "https://user:pw@example.com/x"]], "user name"),
                (
                    ["name": "x", "kind": "webhook", "secrets": ["webhookURL": "https://example.com/x", "signingSecret": "short"]],
                    "signingSecret"
                ),
                (
                    [
                        "name": "x", "kind": "email",
                        "settings": ["smtpHost": "smtp.example.com", "from": "a@b.example", "to": ["x@y.example\r\nBcc: all@z.example"]]
                    ],
                    "settings.to"
                ),
                (
                    [
                        "name": "x", "kind": "email",
                        "settings": ["smtpHost": "smtp.example.com", "smtpSecurity": "none", "from": "a@b.example", "to": ["x@y.example"]]
                    ],
                    "unencrypted"
                ),
                (["name": "x", "kind": "slack", "secrets": ["webhookURL": "https://hooks.slack.com/x"], "digestAt": "25:00"], "digestAt"),
                (
                    [
                        "name": "x", "kind": "slack", "secrets": ["webhookURL": "https://hooks.slack.com/x"], "digestAt": "08:00",
                        "digestTimeZone": "CEST"
                    ],
                    "digestAt"
                ),
                (["name": "x", "kind": "slack", "secrets": ["webhookURL": "https://hooks.slack.com/x"], "ratePerHour": 0], "ratePerHour")
            ] as [([String: Any], String)] {
                let refused = try await harness.rules("/v1/channels", "POST", bad)
                #expect(refused.status == 400 && refused.body.contains(expected), "\(bad): \(refused.body)")
            }
            // A private address is refused when it is called (the channel's status says why), never reached.
            let inward = try await harness.addChannel([
                "name": "inward", "kind": "slack", "secrets": ["webhookURL": "https://127.0.0.1:1/x"]
            ])
            let test = try await harness.rules("/v1/channels/\(inward.id)/test", "POST", [:], as: ChannelTestOutcome.self)
            #expect(!test.ok && test.error?.contains("private address") == true, "\(test)")
            #expect(try await harness.channel(inward.id).status == .failing)
            // A rule names only channels that exist; a channel a rule uses cannot be deleted.
            let unknown = try await harness.rules(
                "/v1/rules", "POST", ["templateId": "datto-fails-2-nights-connectwise", "action": "notify", "notifyChannels": ["ch_999"]])
            #expect(unknown.status == 400 && unknown.body.contains("no channel ch_999"), "\(unknown.body)")
            let none = try await harness.rules("/v1/rules", "POST", ["templateId": "datto-fails-2-nights-connectwise", "action": "notify"])
            #expect(none.status == 400 && none.body.contains("at least one channel"), "\(none.body)")
            let rule = try await harness.rules(
                "/v1/rules", "POST", ["templateId": "datto-fails-2-nights-connectwise", "action": "notify", "notifyChannels": [slack.id]])
            #expect(rule.status == 201, "\(rule.body)")
            let kept = try await harness.rules("/v1/channels/\(slack.id)", "DELETE")
            #expect(kept.status == 409 && kept.body.contains("ru_"), "\(kept.body)")
            #expect(try await harness.rules("/v1/channels/\(inward.id)", "DELETE").status == 204)
            #expect(try await harness.rules("/v1/channels/\(inward.id)").status == 404)
            #expect(try await harness.rules("/v1/notifications?limit=0").status == 400)
            #expect(try await harness.rules("/v1/channels/nope/test", "POST", [:]).status == 404)
        }
    }
}

extension NotificationTests {
    /// A hostile SMTP server: `no-starttls` offers AUTH without TLS, `flood` greets with 10 MB and no line end, `silent`
    /// accepts and never answers. Every line it receives is written to `log`.
    static let hostileSMTP = """
        import socket, sys, time
        port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(5)
        print("ready", flush=True)
        while True:
            conn, _ = server.accept()
            try:
                if mode == "silent":
                    time.sleep(30)
                elif mode == "flood":
                    conn.sendall(b"220 " + b"x" * 10_000_000)
                else:
                    conn.sendall(b"220 mail.example ESMTP\\r\\n")
                    reader = conn.makefile("rb")
                    for line in reader:
                        with open(log, "ab") as f:
                            f.write(line)
                        if line.upper().startswith(b"EHLO"):
                            conn.sendall(b"250-mail.example\\r\\n250 AUTH PLAIN LOGIN\\r\\n")
                        else:
                            conn.sendall(b"250 ok\\r\\n")
            except Exception:
                pass
            finally:
                conn.close()
        """

    @Test(
        "hostile SMTP servers: no STARTTLS means no password and no mail in the clear; a 10 MB greeting and a silent server end in a bounded error"
    )
    func hostileSMTPServers() async throws {
        try await SystemHarness.with(fleet: Self.fleet) { harness in
            for (mode, expected) in [
                ("no-starttls", "does not offer STARTTLS"), ("flood", "line over 4 KiB"), ("silent", "did not finish within 5 s")
            ] {
                let port = try freePort()
                let log = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-smtp-\(UUID().uuidString).log").path
                let server = try RunningProcess("/usr/bin/env", ["python3", "-c", Self.hostileSMTP, String(port), mode, log])
                defer { server.signal(SIGTERM) }
                try await server.waitForOutput("ready")
                let channel = try await harness.addChannel([
                    "name": mode, "kind": "email",
                    "settings": [
                        "smtpHost": "127.0.0.1", "smtpPort": port, "smtpUsername": "noc", "from": "vectis@msp.example",
                        "to": ["noc@msp.example"]
                    ],
                    "secrets": ["smtpPassword": "hunter2-secret"]
                ])
                let started = ContinuousClock.now
                let test = try await harness.rules("/v1/channels/\(channel.id)/test", "POST", [:], as: ChannelTestOutcome.self)
                #expect(!test.ok && test.error?.contains(expected) == true, "\(mode): \(test)")
                #expect(ContinuousClock.now - started < .seconds(15), "\(mode)")
                let heard = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                #expect(!heard.contains("AUTH") && !heard.contains("MAIL FROM") && !heard.contains("hunter2"), "\(mode): \(heard)")
                #expect(try await harness.channel(channel.id).status == .failing)
            }
        }
    }
}

extension SystemHarness {
    /// A counter of the rules service's `/metrics`.
    func rulesMetric(_ name: String) async throws -> Double {
        let metrics = try await HTTP.send("GET", rulesURL + "/metrics", bearer: CollectorHarness.token).body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }
}

/// Text as it appears in the HTML part of an e-mail (escaped) or in the plain part.
enum HTMLEscaped {
    static func maybe(_ text: String, html: Bool) -> String { html ? HTMLText.escape(text) : text }
}
