import Foundation
import GRDB
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VectisAPI
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Carries out queued PSA actions, one at a time, in order: the durable half of "exactly one ticket per problem".
///
/// Each action is marked in flight (committed) before its call and done after it. An action found in flight —
/// after a crash mid-call, or after a create that timed out — may already have happened, so an `open` is
/// preceded by a search for the dedupe key. Rate limits come back as a wait (`Retry-After`), 5xx and timeouts
/// back off, and refusals (400, 401/403, Autotask's 500 with `errors[]`) are recorded and never retried.
final class TicketWorker: Service, Sendable {
    let database: DatabasePool
    let outbox: Outbox
    let secrets: SecretBox
    let logger: Logger
    let timeout: Duration
    let upstreams: UpstreamPolicy
    let maxAttempts = 8
    let wake = WakeSignal()
    private let limiters = Mutex<[String: RequestRateLimiter]>([:])

    /// Passes over the queue that failed as a whole (`vectis_rules_psa_queue_failures_total`).
    let failures: Counter
    /// Actions set aside because their rule cannot be used as saved (`vectis_rules_psa_actions_set_aside_total`).
    let setAside: Counter

    init(
        database: DatabasePool, outbox: Outbox, secrets: SecretBox, timeout: Duration, upstreams: UpstreamPolicy,
        metrics: any MetricsFactory, logger: Logger
    ) {
        failures = Counter(label: "vectis_rules_psa_queue_failures_total", factory: metrics)
        setAside = Counter(label: "vectis_rules_psa_actions_set_aside_total", factory: metrics)
        self.database = database
        self.upstreams = upstreams
        self.outbox = outbox
        self.secrets = secrets
        self.timeout = timeout
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var logLimiter = LogLimiter(perMinute: 6)
            while !Task.isCancelled {
                do {
                    if try await !runNext() { await wake.wait(timeout: .milliseconds(100)) }
                } catch is CancellationError {
                    return
                } catch {
                    // The database itself failed (full disk, I/O): said and counted, then tried again after a pause;
                    // problems of one rule never get here (`runNext` sets that rule's actions aside).
                    failures.increment()
                    if logLimiter.allow() { logger.error("PSA queue pass failed", metadata: ["error": "\(error)"]) }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// At most a few log lines a minute for one repeating failure.
    struct LogLimiter {
        let perMinute: Int
        var windowStart = ContinuousClock.now
        var used = 0

        init(perMinute: Int) { self.perMinute = perMinute }

        mutating func allow() -> Bool {
            if ContinuousClock.now - windowStart >= .seconds(60) { (windowStart, used) = (.now, 0) }
            used += 1
            return used <= perMinute
        }
    }

    /// The budget per PSA account: Autotask 10,000 an hour (shared by every integration of the database), HaloPSA
    /// 300 per 5 minutes, ConnectWise (no published number) 60 a minute.
    static func budget(for rule: RuleConnection) -> (account: String, limit: Int, window: Duration) {
        switch rule.psa {
        case .connectwise: ("cw:\(rule.settings.site ?? ""):\(rule.settings.companyId ?? "")", 60, .seconds(60))
        case .autotask: ("at:\(rule.settings.username ?? "")", 10_000, .seconds(3_600))
        case .halopsa: ("halo:\(rule.settings.instanceURL ?? "")", 300, .seconds(300))
        }
    }

    func limiter(for rule: RuleConnection) -> RequestRateLimiter {
        let budget = Self.budget(for: rule)
        return limiters.withLock { limiters in
            if let existing = limiters[budget.account] { return existing }
            let limiter = RequestRateLimiter(limit: budget.limit, window: budget.window, margin: .zero)
            limiters[budget.account] = limiter
            return limiter
        }
    }

    /// The scheduled read-back's slice of an account's budget (`share` of it, at least one request per window).
    func readBackShare(for rule: RuleConnection, share: Double) -> RequestRateLimiter {
        let budget = Self.budget(for: rule)
        return limiters.withLock { limiters in
            let key = "read-back:" + budget.account
            if let existing = limiters[key] { return existing }
            let limit = max(1, Int((Double(budget.limit) * share).rounded(.down)))
            let limiter = RequestRateLimiter(limit: limit, window: budget.window, margin: .zero)
            limiters[key] = limiter
            return limiter
        }
    }

    /// `interactive`: someone is waiting at a screen, so a spent request budget is reported, not waited out.
    /// `share`: the read-back's slice of the budget, which it spends without waiting.
    /// The rule's PSA adapter and the journal of the calls it makes (written to the rule's history afterwards).
    func adapter(for rule: RuleConnection, interactive: Bool = false, share: RequestRateLimiter? = nil) -> (any PSAAdapter, PSACallJournal)
    {
        let journal = PSACallJournal()
        let http = PSAHTTPClient(
            limiter: limiter(for: rule), timeout: timeout, upstreams: upstreams,
            longestBudgetWait: interactive || share != nil ? .seconds(5) : nil, share: share, journal: { journal.record($0) })
        let adapter: any PSAAdapter =
            switch rule.psa {
            case .connectwise: ConnectWiseAdapter(settings: rule.settings, secrets: rule.secrets, http: http)
            case .autotask: AutotaskAdapter(settings: rule.settings, secrets: rule.secrets, http: http)
            case .halopsa: HaloAdapter(settings: rule.settings, secrets: rule.secrets, http: http)
            }
        return (adapter, journal)
    }

    /// Runs the oldest action that may run now — claim, execute, record — and says whether there was one.
    func runNext() async throws -> Bool {
        guard let job = try await claim(now: Date()) else { return false }
        let (adapter, calls) = adapter(for: job.rule)
        let execution = await PSAActionRunner.execute(job, adapter: adapter)
        try await record(execution, of: job, calls: calls.calls)
        return true
    }

    /// Marks the oldest runnable action in flight (committed before any call) and returns it with its rule.
    func claim(now: Date) async throws -> PSAJob? {
        try await database.write { [secrets, setAside] db -> PSAJob? in
            var blocked: Set<Int64> = []
            for action in try PSAActionQueue.candidates(now: now, db) {
                let ticket = action.ticket
                // In order per ticket: nothing after an action still waiting, nothing before the ticket exists.
                guard blocked.insert(ticket.id).inserted else { continue }
                guard let kind = action.kind else { continue }
                if kind != .open && ticket.externalId == nil {
                    if ticket.state == .failed {
                        try PSAActionQueue.markFailed(action.id, error: "the ticket was never opened", now: now, db)
                    }
                    continue
                }
                // A rule that cannot be used as saved (its secrets do not open with this key file, its settings do not
                // decode) sets its own actions aside for a while, with the reason; the other rules' actions go on.
                let rule: RuleConnection
                do {
                    guard let loaded = try RuleConnection.load(ticket.ruleId, db: db, secrets: secrets, tolerateUnreadableSecrets: true)
                    else { continue }
                    guard !loaded.secretsUnreadable else { throw RuleUnusable(reason: RuleConnection.unreadableSecrets) }
                    rule = loaded
                } catch {
                    let reason = (error as? RuleUnusable)?.reason ?? "The rule's saved settings cannot be read (\(error)); edit the rule."
                    try Self.setAside(action, kind: kind, reason: reason, now: now, db: db)
                    setAside.increment()
                    continue
                }
                try PSAActionQueue.markInFlight(action.id, now: now, db)
                return PSAJob(action: action, kind: kind, rule: rule)
            }
            return nil
        }
    }

    /// Writes what the call did: the calls to the history, the action done, rescheduled or failed, the ticket's
    /// new state and the event that says so — in one transaction.
    func record(_ execution: PSAActionRunner.Execution, of job: PSAJob, calls: [PSAHTTPClient.PSACall]) async throws {
        try await database.write { [outbox, maxAttempts, logger] db in
            let ruleId = job.rule.id
            let ticket = job.ticket
            let key = ticket.dedupeKey
            for call in calls {
                try Audit.record(
                    rule: ruleId, subject: key, kind: "psa-call",
                    detail: "\(call.method) \(call.path)" + (call.error.map { " — \($0)" } ?? ""),
                    status: call.status, durationMs: call.milliseconds, db: db)
            }
            let now = Date()
            if let reading = execution.reading { try TicketLifecycle.recordReading(ticket.id, reading, at: now, db) }
            switch execution.outcome {
            case .done(let detail):
                try PSAActionQueue.markDone(job.action.id, now: now, db)
                let externalId = execution.externalId ?? ""
                let reference = TicketRef(
                    dedupeKey: key, psa: job.rule.psa, externalId: externalId, ruleId: "ru_\(ruleId)",
                    subject: AlertSubject(
                        customer: CustomerRef(key: ticket.customerId, name: ticket.customerName), deviceSerial: ticket.deviceSerial,
                        agentName: ticket.agentName))
                switch job.kind {
                case .open:
                    try TicketRecord.markOpened(ticket.id, externalId: externalId, db)
                    try outbox.append(TicketOpened(ticket: reference, summary: detail), tenant: job.rule.tenant, in: db)
                case .note:
                    try TicketRecord.countNote(ticket.id, db)
                    try outbox.append(
                        TicketNoted(ticket: reference, note: NoteMarker.strip(job.action.text)), tenant: job.rule.tenant, in: db)
                case .close:
                    try TicketRecord.markClosed(ticket.id, at: now, db)
                    try outbox.append(TicketClosed(ticket: reference, note: job.action.text), tenant: job.rule.tenant, in: db)
                case .reopen:
                    break  // the note that follows says why
                }
                try Audit.record(rule: ruleId, subject: key, kind: "ticket-\(job.kind.rawValue)", detail: detail, db: db)
            case .notOpen(let reading):
                try PSAActionQueue.markDone(job.action.id, now: now, db)
                try TicketLifecycle.personClosed(job, reading: reading, at: now, outbox: outbox, db)
            case .failed(let error):
                let wait: Duration? =
                    switch error {
                    case .rateLimited(let retryAfter, _): retryAfter
                    case .transient, .timeout: PSAActionQueue.backoff(attempts: job.attempt)
                    case .unauthorized, .rejected: nil
                    }
                if let wait, job.attempt < maxAttempts {
                    let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                    try PSAActionQueue.reschedule(job.action.id, notBefore: now + seconds, error: error.description, now: now, db)
                    try Audit.record(
                        rule: ruleId, subject: key, kind: "psa-retry-scheduled",
                        detail: "\(job.kind.rawValue) failed (\(error)); retrying in \(wait)", status: error.status, db: db)
                } else {
                    try PSAActionQueue.markFailed(job.action.id, error: error.description, now: now, db)
                    if job.kind == .open { try TicketRecord.markFailed(ticket.id, db) }
                    try Audit.record(
                        rule: ruleId, subject: key, kind: "psa-error", detail: "\(job.kind.rawValue) refused, not retried: \(error)",
                        status: error.status, db: db)
                    logger.error(
                        "PSA refused an action", metadata: ["rule": "ru_\(ruleId)", "action": "\(job.kind.rawValue)", "error": "\(error)"])
                }
            }
        }
    }

    struct RuleUnusable: Error { let reason: String }

    /// How long an action of an unusable rule waits before it is looked at again (the secrets may be entered again).
    static let setAsideSeconds: Double = 300

    /// Postpones one action of a rule that cannot be used now; its history says why once, not every pass.
    static func setAside(_ action: QueuedAction, kind: PSAActionKind, reason: String, now: Date, db: Database) throws {
        let previous = try PSAActionQueue.postpone(action.id, until: now + setAsideSeconds, reason: reason, now: now, db)
        if previous != reason {
            try Audit.record(
                rule: action.ticket.ruleId, subject: action.ticket.dedupeKey, kind: "psa-action-waiting",
                detail: "\(kind.rawValue) waits: \(reason)", db: db)
        }
    }

    /// "Send test ticket": one create, straight through, recorded in the rule's history.
    func testTicket(rule: RuleConnection, companyId: String) async throws -> Result<String, PSAError> {
        let (adapter, calls) = adapter(for: rule, interactive: true)
        let result: Result<String, PSAError>
        do {
            result = .success(
                try await adapter.createTicket(
                    NewTicket(
                        companyId: companyId, summary: "Vectis test ticket",
                        details: "Sent from Vectis to check the PSA connection of rule ru_\(rule.id).",
                        dedupeKey: "vectis:test:ru_\(rule.id):\(UUID().uuidString.prefix(8))")))
        } catch {
            result = .failure(error)
        }
        let journal = calls.calls
        try await database.write { db in
            try Self.record(journal, rule: rule.id, db: db)
            switch result {
            case .success(let id):
                try Audit.record(rule: rule.id, subject: nil, kind: "test-ticket", detail: "test ticket \(id) opened", db: db)
            case .failure(let error):
                try Audit.record(
                    rule: rule.id, subject: nil, kind: "test-ticket", detail: "test ticket failed: \(error)", status: error.status, db: db)
            }
        }
        return result
    }

    /// Reads the PSA's pick lists for someone at a screen; every call goes into the audit (under the rule, when
    /// the connection is a saved rule's; `rule.id` 0 is a connection still being typed).
    func picklists(rule: RuleConnection) async throws -> Result<PSAPicklists, PSAError> {
        let (adapter, calls) = adapter(for: rule, interactive: true)
        let result: Result<PSAPicklists, PSAError>
        do {
            result = .success(try await adapter.picklists())
        } catch {
            result = .failure(error)
        }
        let journal = calls.calls
        try await database.write { db in try Self.record(journal, rule: rule.id == 0 ? nil : rule.id, db: db) }
        return result
    }

    /// One audit line per PSA call: method, path, status, duration, error — never bodies or headers.
    static func record(_ calls: [PSAHTTPClient.PSACall], rule: Int64?, db: Database) throws {
        for call in calls {
            try Audit.record(
                rule: rule, subject: nil, kind: "psa-call", detail: "\(call.method) \(call.path)" + (call.error.map { " — \($0)" } ?? ""),
                status: call.status, durationMs: call.milliseconds, db: db)
        }
    }
}

/// The PSA calls one piece of work made (method, path, status, duration, error — never bodies or headers), kept
/// while it runs and written to the rule's history after.
final class PSACallJournal: Sendable {
    private let entries = Mutex<[PSAHTTPClient.PSACall]>([])

    func record(_ call: PSAHTTPClient.PSACall) {
        entries.withLock { $0.append(call) }
    }

    var calls: [PSAHTTPClient.PSACall] { entries.withLock { $0 } }
}
