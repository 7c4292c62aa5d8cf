import Foundation
import VectisContracts

// The rules service's HTTP shapes (`docs/openapi/rules.json`): what the server encodes, the CLI and the tests decode.

/// What makes a rule act: a run of failed nights, or one of the silent failures `vectis-backups` detects.
public enum RuleTrigger: String, Codable, Sendable, CaseIterable {
    /// The agent's latest nights with runs all failed (`backup.job.recorded`).
    case failedNights = "failed-nights"
    /// No successful backup within the agent's window and no failed run either (`backup.condition.changed`).
    case backupMissed = "backup-missed"
    /// The appliance stopped checking in: one ticket per appliance, not per agent.
    case deviceOffline = "device-offline"
    /// Offsite replication fell behind.
    case offsiteStale = "offsite-stale"
    /// The agent's latest screenshot verification failed: the backup may not boot.
    case screenshotFailed = "screenshot-failed"
    /// The appliance's local storage is filling up: one ticket per appliance.
    case applianceStorage = "appliance-storage"

    /// A retry needs an agent to retry, and only helps an agent whose backups failed or stopped.
    public var canRetry: Bool { self == .failedNights || self == .backupMissed }
    /// The type of the alert the same problem raises in the feed.
    public var alertType: String { self == .failedNights ? "backup-job-failure" : rawValue }
}

/// What a rule does when its threshold is reached (`rule.action`; the table's CHECK lists the same values).
public enum RuleAction: String, Codable, Sendable, CaseIterable {
    /// Open a ticket, note it each further night, note (or close) it on recovery.
    case ticket
    /// Ask the collector to retry the backup (a hook and a re-poll), no ticket.
    case retry
    case both
    /// Only notify the rule's channels: no ticket, no retry (the template's PSA settings are not needed).
    case notify

    public var opensTickets: Bool { self == .ticket || self == .both }
    public var retries: Bool { self == .retry || self == .both }
}

/// A rule template: the integration guide's three ("Datto backup fails 2+ nights in a row", one per PSA) and the
/// same per PSA for each silent failure.
public struct RuleTemplate: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var psa: PSAKind
    public var trigger: RuleTrigger
    public var description: String
    public var defaultThresholdNights: Int
    /// Settings the PSA connection needs, one line each (secrets marked), for the CLI.
    public var settings: [String]
    /// The same, described for a form.
    public var fields: [PSAField]
    /// What a rule from it may do: `ticket`, and `retry`/`both` where there is a backup to retry.
    public var actions: [RuleAction]

    public init(
        id: String, name: String, psa: PSAKind, trigger: RuleTrigger, description: String, defaultThresholdNights: Int,
        settings: [String], fields: [PSAField], actions: [RuleAction]
    ) {
        self.id = id
        self.name = name
        self.psa = psa
        self.trigger = trigger
        self.description = description
        self.defaultThresholdNights = defaultThresholdNights
        self.settings = settings
        self.fields = fields
        self.actions = actions
    }
}

/// `GET /v1/rule-templates`.
public struct RuleTemplateList: Codable, Sendable {
    public var templates: [RuleTemplate]
    public init(templates: [RuleTemplate]) { self.templates = templates }
}

/// What an agent protects, as Datto describes it (its `type` and `os`): how urgent its ticket is.
public enum AgentClass: String, Codable, Sendable, CaseIterable {
    case server, workstation, share

    /// A share is a share; a Windows client OS or macOS is a workstation; a server OS, Linux, and an OS Datto did
    /// not name count as servers — the safe side, the higher priority.
    public static func of(share: Bool, os: String?) -> AgentClass {
        if share { return .share }
        let os = (os ?? "").lowercased()
        if os.contains("server") { return .server }
        if os.contains("windows") || os.contains("mac") || os.contains("os x") || os.contains("darwin") { return .workstation }
        return .server
    }
}

/// What a rule does when a person closed its ticket in the PSA while the problem goes on. Within the rule's
/// `reopenWindowDays` of the close `reopen` reopens it; after the window it opens a new ticket instead.
public enum WhenClosedByPerson: String, Codable, Sendable, CaseIterable {
    /// Set the rule's reopen status and add a note "Still failing: …".
    case reopen
    /// A new ticket whose details name the closed one.
    case newTicket = "new-ticket"
    /// Nothing is written to the PSA; the rule's history says so.
    case leave
}

/// The body of `POST /v1/rules`: a rule from a template. Everything but the template has a default.
public struct NewRule: Codable, Sendable {
    public var templateId: String?
    public var tenant: String?
    public var name: String?
    public var settings: PSASettings?
    public var secrets: PSASecrets?
    public var thresholdNights: Int?
    public var closeOnRecovery: Bool?
    /// `ticket`, `retry` or `both` (text, so a wrong value is answered with the list, not a decoding error).
    public var action: String?
    public var maxRetries: Int?
    public var dryRunHours: Double?
    /// `reopen` (the default), `new-ticket` or `leave` (text, so a wrong value is answered with the list).
    public var whenClosedByPerson: String?
    /// 0–90; default 7.
    public var reopenWindowDays: Int?
    /// Channels (`ch_1`, …) told on open and recovery, besides what `action` does (with `notify`: instead).
    public var notifyChannels: [String]?
    /// Also tell the channels on each further failed night (or day); default false.
    public var notifyRepeat: Bool?

    public init(
        templateId: String?, tenant: String? = nil, name: String? = nil, settings: PSASettings? = nil, secrets: PSASecrets? = nil,
        thresholdNights: Int? = nil, closeOnRecovery: Bool? = nil, action: String? = nil, maxRetries: Int? = nil,
        dryRunHours: Double? = nil, whenClosedByPerson: String? = nil, reopenWindowDays: Int? = nil, notifyChannels: [String]? = nil,
        notifyRepeat: Bool? = nil
    ) {
        self.notifyChannels = notifyChannels
        self.notifyRepeat = notifyRepeat
        self.whenClosedByPerson = whenClosedByPerson
        self.reopenWindowDays = reopenWindowDays
        self.templateId = templateId
        self.tenant = tenant
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.thresholdNights = thresholdNights
        self.closeOnRecovery = closeOnRecovery
        self.action = action
        self.maxRetries = maxRetries
        self.dryRunHours = dryRunHours
    }
}

/// The body of `PATCH /v1/rules/{id}`: the switches (enabled, dry run) and edits of what the rule does. Editing in
/// place keeps the rule's tickets and history: a rotated PSA key or a new board must not orphan open tickets.
public struct RuleChange: Codable, Sendable {
    public var enabled: Bool?
    public var dryRunHours: Double?
    public var name: String?
    /// Replaces the settings as a whole, so an optional one (a priority) can be cleared.
    public var settings: PSASettings?
    /// Only the secrets given are replaced; absent or blank ones keep their saved value.
    public var secrets: PSASecrets?
    public var thresholdNights: Int?
    public var closeOnRecovery: Bool?
    public var action: String?
    public var maxRetries: Int?
    public var whenClosedByPerson: String?
    public var reopenWindowDays: Int?
    /// Replaces the rule's channels (`[]` stops notifying).
    public var notifyChannels: [String]?
    public var notifyRepeat: Bool?

    public init(
        enabled: Bool? = nil, dryRunHours: Double? = nil, name: String? = nil, settings: PSASettings? = nil,
        secrets: PSASecrets? = nil, thresholdNights: Int? = nil, closeOnRecovery: Bool? = nil, action: String? = nil,
        maxRetries: Int? = nil, whenClosedByPerson: String? = nil, reopenWindowDays: Int? = nil, notifyChannels: [String]? = nil,
        notifyRepeat: Bool? = nil
    ) {
        self.notifyChannels = notifyChannels
        self.notifyRepeat = notifyRepeat
        self.whenClosedByPerson = whenClosedByPerson
        self.reopenWindowDays = reopenWindowDays
        self.enabled = enabled
        self.dryRunHours = dryRunHours
        self.name = name
        self.settings = settings
        self.secrets = secrets
        self.thresholdNights = thresholdNights
        self.closeOnRecovery = closeOnRecovery
        self.action = action
        self.maxRetries = maxRetries
    }

    /// Whether it edits what the rule does (not only its switches).
    public var editsRule: Bool {
        name != nil || settings != nil || secrets != nil || thresholdNights != nil || closeOnRecovery != nil || action != nil
            || maxRetries != nil || whenClosedByPerson != nil || reopenWindowDays != nil || notifyChannels != nil || notifyRepeat != nil
    }
}

/// A rule as every read answers it: settings shown, secrets only named.
public struct RuleView: Codable, Sendable, Equatable {
    public var id: String
    public var tenant: String
    public var templateId: String
    public var name: String
    public var psa: PSAKind
    public var trigger: RuleTrigger
    public var settings: PSASettings
    /// Which secrets are set; never their values.
    public var secretsSet: [String]
    /// Set when the sealed secrets cannot be opened (e.g. the key file was replaced): re-enter them.
    public var secretsProblem: String?
    /// Set when the stored settings cannot be read: they show as empty until saved again.
    public var settingsProblem: String?
    public var thresholdNights: Int
    public var closeOnRecovery: Bool
    public var action: RuleAction
    public var maxRetries: Int
    public var dryRunUntil: Date
    public var dryRun: Bool
    public var enabled: Bool
    public var whenClosedByPerson: WhenClosedByPerson
    public var reopenWindowDays: Int
    /// The channels told about this rule's problems (`ch_…`).
    public var notifyChannels: [String]
    public var notifyRepeat: Bool

    public init(
        id: String, tenant: String, templateId: String, name: String, psa: PSAKind, trigger: RuleTrigger, settings: PSASettings,
        secretsSet: [String], secretsProblem: String?, settingsProblem: String?, thresholdNights: Int, closeOnRecovery: Bool,
        action: RuleAction, maxRetries: Int, dryRunUntil: Date, dryRun: Bool, enabled: Bool,
        whenClosedByPerson: WhenClosedByPerson = .reopen, reopenWindowDays: Int = 7, notifyChannels: [String] = [],
        notifyRepeat: Bool = false
    ) {
        self.notifyChannels = notifyChannels
        self.notifyRepeat = notifyRepeat
        self.whenClosedByPerson = whenClosedByPerson
        self.reopenWindowDays = reopenWindowDays
        self.id = id
        self.tenant = tenant
        self.templateId = templateId
        self.name = name
        self.psa = psa
        self.trigger = trigger
        self.settings = settings
        self.secretsSet = secretsSet
        self.secretsProblem = secretsProblem
        self.settingsProblem = settingsProblem
        self.thresholdNights = thresholdNights
        self.closeOnRecovery = closeOnRecovery
        self.action = action
        self.maxRetries = maxRetries
        self.dryRunUntil = dryRunUntil
        self.dryRun = dryRun
        self.enabled = enabled
    }
}

/// `GET /v1/rules`.
public struct RuleList: Codable, Sendable {
    public var rules: [RuleView]
    public init(rules: [RuleView]) { self.rules = rules }
}

/// `GET /v1/rules/{id}/history`: what the rule decided and did, newest first (at most 500 lines).
public struct RuleHistory: Codable, Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var at: Date
        /// `open-ticket`, `add-note`, `would-open-ticket`, `psa-call`, `rule-changed`, …
        public var kind: String
        public var detail: String
        public var subject: String?
        /// The PSA's HTTP status, for a PSA call.
        public var status: Int?
        public var durationMs: Int?
        public var dryRun: Bool

        public init(at: Date, kind: String, detail: String, subject: String?, status: Int?, durationMs: Int?, dryRun: Bool) {
            self.at = at
            self.kind = kind
            self.detail = detail
            self.subject = subject
            self.status = status
            self.durationMs = durationMs
            self.dryRun = dryRun
        }
    }

    public var history: [Entry]
    public init(history: [Entry]) { self.history = history }
}

/// The body of `POST /v1/rules/{id}/test-ticket`, and of `PUT /v1/psa-mappings/{psa}/{customer}`.
public struct CompanyChoice: Codable, Sendable {
    /// The PSA's own id for the company.
    public var companyId: String
    public init(companyId: String) { self.companyId = companyId }
}

/// The answer of `POST /v1/rules/{id}/test-ticket`: 200 either way, like Datto's Test button — the check ran.
public struct TestTicketOutcome: Codable, Sendable {
    public var ok: Bool
    public var ticketId: String?
    public var error: String?
    public init(ok: Bool, ticketId: String? = nil, error: String? = nil) {
        self.ok = ok
        self.ticketId = ticketId
        self.error = error
    }
}

/// A customer's company in one PSA (`PUT` answers it without `updatedAt`).
public struct PSAMapping: Codable, Sendable, Equatable {
    public var psa: PSAKind
    public var customerId: String
    public var companyId: String
    public var updatedAt: Date?

    public init(psa: PSAKind, customerId: String, companyId: String, updatedAt: Date?) {
        self.psa = psa
        self.customerId = customerId
        self.companyId = companyId
        self.updatedAt = updatedAt
    }
}

/// `GET /v1/psa-mappings`.
public struct PSAMappingList: Codable, Sendable {
    public var mappings: [PSAMapping]
    public init(mappings: [PSAMapping]) { self.mappings = mappings }
}

/// A ticket Vectis opened (or is opening) in a PSA.
public struct TicketView: Codable, Sendable, Equatable {
    /// `opening`, `open`, `closed` or `failed`.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Queued; the PSA has not confirmed it yet.
        case opening
        case open
        case closed
        /// The PSA refused it for good (the rule's history says why).
        case failed
    }

    public var id: Int64
    public var ruleId: String
    public var psa: PSAKind
    /// The PSA's own ticket number, once it answered.
    public var externalId: String?
    public var state: State
    public var customerId: String
    public var customerName: String
    public var agentName: String
    public var companyId: String
    public var notes: Int
    public var openedNight: String
    public var summary: String?
    public var openedAt: Date
    public var closedAt: Date?
    /// Who closed it: Vectis on recovery, or a person in the PSA (a deleted or merged ticket counts as a person's close).
    public var closedBy: Closer?
    /// The ticket as the PSA last answered for it (`checkedAt`), with the PSA's own status name.
    public var psaState: PSAState?
    public var psaStatus: String?
    public var checkedAt: Date?
    /// How often Vectis reopened it (a new streak within the window, or after a person's close).
    public var reopens: Int
    /// The earlier ticket of the same problem this one replaces (closed by a person, deleted or merged).
    public var replacesTicketId: Int64?
    /// What the agent protects, which chose the ticket's priority; none for an appliance-wide problem.
    public var agentClass: AgentClass?

    /// Who closed a ticket.
    public enum Closer: String, Codable, Sendable, CaseIterable {
        case vectis
        case person
    }

    /// What the PSA says of a ticket when read back.
    public enum PSAState: String, Codable, Sendable, CaseIterable {
        case open
        case closed
        /// Merged into another ticket (ConnectWise's `mergedParentTicket`).
        case merged
        /// The PSA no longer has it (404/410).
        case deleted
    }

    public init(
        id: Int64, ruleId: String, psa: PSAKind, externalId: String?, state: State, customerId: String, customerName: String,
        agentName: String, companyId: String, notes: Int, openedNight: String, summary: String?, openedAt: Date, closedAt: Date?,
        closedBy: Closer? = nil, psaState: PSAState? = nil, psaStatus: String? = nil, checkedAt: Date? = nil, reopens: Int = 0,
        replacesTicketId: Int64? = nil, agentClass: AgentClass? = nil
    ) {
        self.agentClass = agentClass
        self.closedBy = closedBy
        self.psaState = psaState
        self.psaStatus = psaStatus
        self.checkedAt = checkedAt
        self.reopens = reopens
        self.replacesTicketId = replacesTicketId
        self.id = id
        self.ruleId = ruleId
        self.psa = psa
        self.externalId = externalId
        self.state = state
        self.customerId = customerId
        self.customerName = customerName
        self.agentName = agentName
        self.companyId = companyId
        self.notes = notes
        self.openedNight = openedNight
        self.summary = summary
        self.openedAt = openedAt
        self.closedAt = closedAt
    }
}

/// `GET /v1/tickets`.
public struct TicketList: Codable, Sendable {
    public var tickets: [TicketView]
    public init(tickets: [TicketView]) { self.tickets = tickets }
}

/// One entry of a PSA pick list: what a setting stores (`id`) and what a technician reads (`name`).
public struct PSAChoice: Codable, Sendable, Equatable {
    public var id: Int
    public var name: String
    public init(id: Int, name: String) {
        self.id = id
        self.name = name
    }
}

/// A company (ConnectWise), account (Autotask) or client (HaloPSA) a customer can be mapped to.
public struct PSACompany: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// The body of `POST /v1/psa-picklists`: a connection being typed (`psa`, `settings`, `secrets`), or a saved rule's.
public struct PicklistsQuery: Codable, Sendable {
    public var psa: String?
    /// A saved rule whose settings and secrets are used (the form's values, when given, take precedence).
    public var rule: String?
    public var settings: PSASettings?
    public var secrets: PSASecrets?

    public init(psa: String? = nil, rule: String? = nil, settings: PSASettings? = nil, secrets: PSASecrets? = nil) {
        self.psa = psa
        self.rule = rule
        self.settings = settings
        self.secrets = secrets
    }
}

/// The answer of `POST /v1/psa-picklists`. Like the Test buttons: the PSA was asked and this is its answer, so a
/// PSA refusal is a 200 with `ok: false`.
public struct PicklistsOutcome: Codable, Sendable {
    public var ok: Bool
    public var psa: PSAKind
    /// Choices per setting name (`boardId`, `statusId`, …); a setting absent here is typed by hand.
    public var picklists: [String: [PSAChoice]]?
    public var companies: [PSACompany]?
    /// True when the PSA had more companies than are read: the rest can still be typed as ids.
    public var companiesTruncated: Bool?
    public var error: String?

    public init(
        ok: Bool, psa: PSAKind, picklists: [String: [PSAChoice]]? = nil, companies: [PSACompany]? = nil,
        companiesTruncated: Bool? = nil, error: String? = nil
    ) {
        self.ok = ok
        self.psa = psa
        self.picklists = picklists
        self.companies = companies
        self.companiesTruncated = companiesTruncated
        self.error = error
    }
}
