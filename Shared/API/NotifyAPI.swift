import Foundation

/// Where a notification goes besides the PSA.
public enum ChannelKind: String, Codable, Sendable, CaseIterable {
    /// A multipart text + HTML e-mail over SMTP (STARTTLS or TLS, optional AUTH).
    case email
    /// A Microsoft Teams incoming webhook (Workflows: an Adaptive Card; the older Office 365 connector: a MessageCard).
    case teams
    /// A Slack incoming webhook (Block Kit).
    case slack
    /// Any HTTPS endpoint: Vectis' own JSON, signed with HMAC-SHA256.
    case webhook
}

/// How an e-mail channel reaches its SMTP server. There is no plain option: mail and passwords never travel
/// unencrypted.
public enum SMTPSecurity: String, Codable, Sendable, CaseIterable {
    /// Port 587: a plain connection upgraded with STARTTLS before anything else is said (refused if not offered).
    case startTLS = "starttls"
    /// Port 465: TLS from the first byte.
    case tls

    public var defaultPort: Int { self == .tls ? 465 : 587 }
}

/// What a Teams channel posts.
public enum TeamsFormat: String, Codable, Sendable, CaseIterable {
    /// An Adaptive Card in a message envelope: what Teams Workflows' webhook trigger takes.
    case adaptiveCard = "adaptive-card"
    /// The legacy MessageCard of Office 365 connectors.
    case messageCard = "message-card"
}

/// What a notification is about.
public enum NotificationEvent: String, Codable, Sendable, CaseIterable {
    /// A problem reached the rule's threshold.
    case open
    /// Another failed night (or day) of a problem already announced, when the rule repeats.
    case `repeat`
    /// The problem is over.
    case recovery
    /// The daily list of customers with failing or missed agents.
    case digest
    /// Sent by the Test button.
    case test
}

/// A channel's settings as the API takes and shows them; which ones a kind needs is checked on save.
public struct ChannelSettings: Codable, Sendable, Equatable {
    // E-mail
    public var smtpHost: String?
    /// Default 587 for `starttls`, 465 for `tls`.
    public var smtpPort: Int?
    /// `starttls` (default) or `tls`. Mail is never sent, nor a password given, over an unencrypted connection.
    public var smtpSecurity: String?
    public var smtpUsername: String?
    public var from: String?
    public var to: [String]?
    // Teams
    /// `adaptive-card` (default: Teams Workflows) or `message-card` (the retired Office 365 connector format).
    public var teamsFormat: String?

    public init(
        smtpHost: String? = nil, smtpPort: Int? = nil, smtpSecurity: String? = nil, smtpUsername: String? = nil, from: String? = nil,
        to: [String]? = nil, teamsFormat: String? = nil
    ) {
        self.smtpHost = smtpHost
        self.smtpPort = smtpPort
        self.smtpSecurity = smtpSecurity
        self.smtpUsername = smtpUsername
        self.from = from
        self.to = to
        self.teamsFormat = teamsFormat
    }
}

/// A channel's secrets: write-only (sealed at rest, never in an answer; `ChannelView.secretsSet` names the ones set).
public struct ChannelSecrets: Codable, Sendable, Equatable {
    /// The SMTP password.
    public var smtpPassword: String?
    /// Where messages are posted: a Teams or Slack incoming webhook, or the generic webhook's receiver. Whoever has
    /// such an address can usually post to it (a catch hook takes anything), so it is kept like a password.
    public var webhookURL: String?
    /// The generic webhook's HMAC-SHA256 key.
    public var signingSecret: String?

    public init(smtpPassword: String? = nil, webhookURL: String? = nil, signingSecret: String? = nil) {
        self.smtpPassword = smtpPassword
        self.webhookURL = webhookURL
        self.signingSecret = signingSecret
    }

    /// The names of the secrets that hold a value.
    public var names: [String] {
        [("smtpPassword", smtpPassword), ("webhookURL", webhookURL), ("signingSecret", signingSecret)].filter { $0.1 != nil }.map(\.0)
    }
}

/// The body of `POST /v1/channels`.
public struct NewChannel: Codable, Sendable {
    public var name: String?
    /// `email`, `teams`, `slack` or `webhook` (text, so a wrong value is answered with the list).
    public var kind: String?
    public var tenant: String?
    public var settings: ChannelSettings?
    public var secrets: ChannelSecrets?
    /// Messages per hour at most (1–600, default 30); more wait their turn, none is dropped.
    public var ratePerHour: Int?
    /// The daily digest's local time, `HH:MM`; absent or null: no digest.
    public var digestAt: String?
    /// An IANA time zone such as `Europe/Amsterdam` (default `UTC`).
    public var digestTimeZone: String?
    public var enabled: Bool?

    public init(
        name: String?, kind: String?, tenant: String? = nil, settings: ChannelSettings? = nil, secrets: ChannelSecrets? = nil,
        ratePerHour: Int? = nil, digestAt: String? = nil, digestTimeZone: String? = nil, enabled: Bool? = nil
    ) {
        self.name = name
        self.kind = kind
        self.tenant = tenant
        self.settings = settings
        self.secrets = secrets
        self.ratePerHour = ratePerHour
        self.digestAt = digestAt
        self.digestTimeZone = digestTimeZone
        self.enabled = enabled
    }
}

/// The body of `PATCH /v1/channels/{id}`: what is given changes; secrets given replace the saved ones, absent ones
/// stay; `digestAt: ""` turns the digest off.
public struct ChannelChange: Codable, Sendable {
    public var name: String?
    public var settings: ChannelSettings?
    public var secrets: ChannelSecrets?
    public var ratePerHour: Int?
    public var digestAt: String?
    public var digestTimeZone: String?
    public var enabled: Bool?

    public init(
        name: String? = nil, settings: ChannelSettings? = nil, secrets: ChannelSecrets? = nil, ratePerHour: Int? = nil,
        digestAt: String? = nil, digestTimeZone: String? = nil, enabled: Bool? = nil
    ) {
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.ratePerHour = ratePerHour
        self.digestAt = digestAt
        self.digestTimeZone = digestTimeZone
        self.enabled = enabled
    }
}

/// A channel as every read answers it: settings shown, secrets only named, and how its last delivery went.
public struct ChannelView: Codable, Sendable, Equatable {
    /// `ok` (the last delivery went through), `failing` (the last attempt failed; it is retried), `untested`.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case ok, failing, untested
    }

    public var id: String
    public var tenant: String
    public var name: String
    public var kind: ChannelKind
    public var settings: ChannelSettings
    public var secretsSet: [String]
    /// Set when the sealed secrets cannot be opened (the key file was replaced): enter them again.
    public var secretsProblem: String?
    public var ratePerHour: Int
    public var digestAt: String?
    public var digestTimeZone: String
    /// When the next digest is due.
    public var nextDigestAt: Date?
    public var enabled: Bool
    public var status: Status
    /// The receiving server's own words for the last failure (an SMTP reply, an HTTP status and body).
    public var lastError: String?
    public var lastSentAt: Date?
    public var lastFailedAt: Date?
    /// Messages waiting (a failure being retried, or held by the rate limit).
    public var waiting: Int

    public init(
        id: String, tenant: String, name: String, kind: ChannelKind, settings: ChannelSettings, secretsSet: [String],
        secretsProblem: String?, ratePerHour: Int, digestAt: String?, digestTimeZone: String, nextDigestAt: Date?, enabled: Bool,
        status: Status, lastError: String?, lastSentAt: Date?, lastFailedAt: Date?, waiting: Int
    ) {
        self.id = id
        self.tenant = tenant
        self.name = name
        self.kind = kind
        self.settings = settings
        self.secretsSet = secretsSet
        self.secretsProblem = secretsProblem
        self.ratePerHour = ratePerHour
        self.digestAt = digestAt
        self.digestTimeZone = digestTimeZone
        self.nextDigestAt = nextDigestAt
        self.enabled = enabled
        self.status = status
        self.lastError = lastError
        self.lastSentAt = lastSentAt
        self.lastFailedAt = lastFailedAt
        self.waiting = waiting
    }
}

/// `GET /v1/channels`.
public struct ChannelList: Codable, Sendable {
    public var channels: [ChannelView]
    public init(channels: [ChannelView]) { self.channels = channels }
}

/// The answer of `POST /v1/channels/{id}/test`: 200 either way — the test ran, and this is what the server said.
public struct ChannelTestOutcome: Codable, Sendable {
    public var ok: Bool
    public var error: String?
    public init(ok: Bool, error: String? = nil) {
        self.ok = ok
        self.error = error
    }
}

/// One message to one channel, as `GET /v1/notifications` lists it.
public struct NotificationView: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Waiting: new, retried after a failure, or held by the channel's rate limit.
        case pending
        /// Being sent (or found so after a restart: sent again, with the same delivery id).
        case inFlight = "in-flight"
        case sent
        /// Given up after two days of failures.
        case failed
    }

    public var id: String
    public var channelId: String
    public var ruleId: String?
    public var event: NotificationEvent
    public var title: String
    public var customerName: String?
    public var subjectName: String?
    public var state: State
    public var attempts: Int
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        id: String, channelId: String, ruleId: String?, event: NotificationEvent, title: String, customerName: String?,
        subjectName: String?, state: State, attempts: Int, lastError: String?, createdAt: Date, sentAt: Date?
    ) {
        self.id = id
        self.channelId = channelId
        self.ruleId = ruleId
        self.event = event
        self.title = title
        self.customerName = customerName
        self.subjectName = subjectName
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}

/// `GET /v1/notifications`: newest first.
public struct NotificationList: Codable, Sendable {
    public var notifications: [NotificationView]
    public init(notifications: [NotificationView]) { self.notifications = notifications }
}

/// The JSON the generic webhook posts (signed: `X-Vectis-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
/// with `X-Vectis-Timestamp`, and `X-Vectis-Delivery` the same on every retry of one message).
public struct WebhookPayload: Codable, Sendable, Equatable {
    public struct Fact: Codable, Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct DigestCustomer: Codable, Sendable, Equatable {
        public var customerId: String
        public var customerName: String
        /// `agent name — failing 3 nights: error` lines.
        public var problems: [String]
        public init(customerId: String, customerName: String, problems: [String]) {
            self.customerId = customerId
            self.customerName = customerName
            self.problems = problems
        }
    }

    public var delivery: String
    public var event: NotificationEvent
    public var title: String
    public var text: String
    public var ruleId: String?
    public var trigger: String?
    public var customerId: String?
    public var customerName: String?
    public var agentName: String?
    public var deviceSerial: String?
    public var error: String?
    public var link: String?
    public var facts: [Fact]
    public var customers: [DigestCustomer]?
    public var at: Date

    public init(
        delivery: String, event: NotificationEvent, title: String, text: String, ruleId: String?, trigger: String?,
        customerId: String?, customerName: String?, agentName: String?, deviceSerial: String?, error: String?, link: String?,
        facts: [Fact], customers: [DigestCustomer]?, at: Date
    ) {
        self.delivery = delivery
        self.event = event
        self.title = title
        self.text = text
        self.ruleId = ruleId
        self.trigger = trigger
        self.customerId = customerId
        self.customerName = customerName
        self.agentName = agentName
        self.deviceSerial = deviceSerial
        self.error = error
        self.link = link
        self.facts = facts
        self.customers = customers
        self.at = at
    }
}
