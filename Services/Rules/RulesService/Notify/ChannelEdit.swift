import Foundation
import VectisAPI
import VectisRuntime
import VectisStorage

/// A channel's contents, checked: what a kind needs, addresses that cannot inject headers, a digest time that exists.
struct ChannelEdit {
    var name: String
    var kind: ChannelKind
    var settings: ChannelSettings
    var secrets: ChannelSecrets
    var ratePerHour: Int
    var digest: DigestSchedule?
    var digestAt: String?
    var digestTimeZone: String
    var enabled: Bool

    /// Why these contents are refused, or nil.
    func problem(upstreams: UpstreamPolicy) -> String? {
        guard (1...100).contains(name.count) else { return "name must be 1 to 100 characters." }
        guard (1...600).contains(ratePerHour) else { return "ratePerHour must be from 1 to 600." }
        if digestAt != nil && digest == nil {
            return "digestAt must be a time HH:MM (00:00–23:59) and digestTimeZone an IANA zone such as Europe/Amsterdam."
        }
        switch kind {
        case .email: return emailProblem()
        case .teams, .slack:
            guard let address = secrets.webhookURL else {
                return "secrets.webhookURL is needed: the \(kind.rawValue) incoming webhook's address."
            }
            if let problem = Self.addressProblem(address, upstreams: upstreams) { return "secrets.webhookURL \(problem)." }
            if kind == .teams, let format = settings.teamsFormat, TeamsFormat(rawValue: format) == nil {
                return "teamsFormat must be adaptive-card or message-card."
            }
            return nil
        case .webhook:
            guard let address = secrets.webhookURL else { return "secrets.webhookURL is needed: where the signed JSON is posted." }
            if let problem = Self.addressProblem(address, upstreams: upstreams) { return "secrets.webhookURL \(problem)." }
            guard let secret = secrets.signingSecret, secret.utf8.count >= 16, secret.utf8.count <= 256 else {
                return "secrets.signingSecret is needed: 16 to 256 characters, the key the receiver checks the signature with."
            }
            return nil
        }
    }

    func emailProblem() -> String? {
        guard let host = settings.smtpHost, Self.isHostName(host) else { return "settings.smtpHost must be the SMTP server's host name." }
        guard SMTPSecurity(rawValue: settings.smtpSecurity ?? SMTPSecurity.startTLS.rawValue) != nil else {
            return "smtpSecurity must be starttls or tls: mail and passwords never travel unencrypted."
        }
        if let port = settings.smtpPort, !(1...65_535).contains(port) { return "smtpPort must be from 1 to 65535." }
        guard let from = settings.from, MailAddress.isValid(from) else { return "settings.from must be one e-mail address." }
        guard let to = settings.to, (1...20).contains(to.count), to.allSatisfy(MailAddress.isValid) else {
            return "settings.to must list 1 to 20 e-mail addresses."
        }
        if let user = settings.smtpUsername {
            guard !user.isEmpty, user.utf8.count <= 256, !user.contains(where: \.isNewline) else {
                return "smtpUsername must be 1 to 256 characters on one line."
            }
            guard secrets.smtpPassword != nil else { return "secrets.smtpPassword is needed with smtpUsername." }
        }
        return nil
    }

    /// An https address (http only where private upstreams are allowed, i.e. on a test bench), no credentials in it.
    /// Teams' Workflows addresses carry their signature in the query, so a query is allowed here.
    static func addressProblem(_ text: String, upstreams: UpstreamPolicy) -> String? {
        guard text.utf8.count <= 2_048, let url = URLComponents(string: text), let scheme = url.scheme?.lowercased() else {
            return "is not a URL"
        }
        guard scheme == "https" || (scheme == "http" && upstreams.allowPrivateAddresses) else { return "must start with https://" }
        guard let host = url.host, !host.isEmpty else { return "has no host" }
        if url.user != nil || url.password != nil { return "must not hold a user name or password" }
        if url.fragment != nil { return "must not hold a fragment (#…)" }
        return nil
    }

    static func isHostName(_ text: String) -> Bool {
        (1...253).contains(text.utf8.count)
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-.:[]".unicodeScalars.contains($0))
            }
    }

    /// Only what the kind uses is kept: a Slack channel stores no SMTP server, and no field of another kind is ever
    /// shown (or checked) as if it meant something.
    static func settings(_ settings: ChannelSettings, for kind: ChannelKind) -> ChannelSettings {
        switch kind {
        case .email:
            ChannelSettings(
                smtpHost: settings.smtpHost, smtpPort: settings.smtpPort, smtpSecurity: settings.smtpSecurity,
                smtpUsername: settings.smtpUsername, from: settings.from, to: settings.to)
        case .teams: ChannelSettings(teamsFormat: settings.teamsFormat)
        case .slack, .webhook: ChannelSettings()
        }
    }

    static func secrets(_ secrets: ChannelSecrets, for kind: ChannelKind) -> ChannelSecrets {
        switch kind {
        case .email: ChannelSecrets(smtpPassword: secrets.smtpPassword)
        case .teams, .slack: ChannelSecrets(webhookURL: secrets.webhookURL)
        case .webhook: ChannelSecrets(webhookURL: secrets.webhookURL, signingSecret: secrets.signingSecret)
        }
    }

    /// Secrets given replace the saved ones; absent or blank ones keep their value.
    static func overlay(_ saved: ChannelSecrets, _ given: ChannelSecrets?) -> ChannelSecrets {
        guard let given else { return saved }
        func pick(_ new: String?, _ old: String?) -> String? { (new?.isEmpty ?? true) ? old : new }
        return ChannelSecrets(
            smtpPassword: pick(given.smtpPassword, saved.smtpPassword), webhookURL: pick(given.webhookURL, saved.webhookURL),
            signingSecret: pick(given.signingSecret, saved.signingSecret))
    }

    /// A new channel from a request, or why it is refused.
    static func make(_ body: NewChannel) -> Result<ChannelEdit, RuleRefusal> {
        guard let kindName = body.kind, let kind = ChannelKind(rawValue: kindName) else {
            return .failure(RuleRefusal(message: "kind must be email, teams, slack or webhook."))
        }
        let zone = body.digestTimeZone ?? "UTC"
        let digestAt = body.digestAt.flatMap { $0.isEmpty ? nil : $0 }
        return .success(
            ChannelEdit(
                name: (body.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines), kind: kind,
                settings: settings(body.settings ?? ChannelSettings(), for: kind),
                secrets: secrets(body.secrets ?? ChannelSecrets(), for: kind), ratePerHour: body.ratePerHour ?? 30,
                digest: digestAt.flatMap { DigestSchedule(at: $0, timeZone: zone) }, digestAt: digestAt, digestTimeZone: zone,
                enabled: body.enabled ?? true))
    }

    /// A saved channel with a change applied (secrets unreadable under a replaced key are simply entered again).
    static func make(_ record: ChannelRecord, _ change: ChannelChange, secrets box: SecretBox) -> ChannelEdit {
        let zone = change.digestTimeZone ?? record.digestTimeZone
        let digestAt = (change.digestAt ?? record.digestAt).flatMap { $0.isEmpty ? nil : $0 }
        return ChannelEdit(
            name: change.name.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? record.name, kind: record.kind,
            settings: settings(change.settings ?? (try? record.channelSettings()) ?? ChannelSettings(), for: record.kind),
            secrets: secrets(overlay((try? record.channelSecrets(box)) ?? ChannelSecrets(), change.secrets), for: record.kind),
            ratePerHour: change.ratePerHour ?? record.ratePerHour, digest: digestAt.flatMap { DigestSchedule(at: $0, timeZone: zone) },
            digestAt: digestAt, digestTimeZone: zone, enabled: change.enabled ?? record.enabled)
    }

    /// The row to save (`id` 0 for a new one).
    func record(id: Int64, tenant: String, secrets box: SecretBox, previous: ChannelRecord?, now: Date) throws -> ChannelRecord {
        // A digest keeps its due time unless its schedule changed.
        let keepsSchedule =
            previous.map { $0.digestAt == digestAt && $0.digestTimeZone == digestTimeZone && $0.nextDigestAt != nil } ?? false
        return ChannelRecord(
            id: id, tenant: tenant, name: name, kind: kind, settings: try RuleRecord.json(settings),
            secretsSealed: try box.seal(try RuleRecord.json(secrets)), ratePerHour: ratePerHour, digestAt: digestAt,
            digestTimeZone: digestTimeZone, nextDigestAt: keepsSchedule ? previous?.nextDigestAt : digest?.next(after: now),
            enabled: enabled, status: previous?.status ?? .untested, lastError: previous?.lastError, lastSentAt: previous?.lastSentAt,
            lastFailedAt: previous?.lastFailedAt, createdAt: previous?.createdAt ?? now)
    }
}

/// An e-mail address as the channel takes it: `local@domain`, nothing that could end a header or a command.
enum MailAddress {
    static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard text.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, isHost(parts[1]) else {
            return false
        }
        let forbidden = CharacterSet(charactersIn: " <>()[]\\,;:\"").union(.controlCharacters).union(.newlines)
        return parts[0].unicodeScalars.allSatisfy { $0.isASCII && !forbidden.contains($0) }
    }

    static func isHost(_ text: Substring) -> Bool {
        !text.isEmpty && text.contains(".") && !text.hasPrefix(".") && !text.hasSuffix(".")
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-.".unicodeScalars.contains($0))
            }
    }
}
