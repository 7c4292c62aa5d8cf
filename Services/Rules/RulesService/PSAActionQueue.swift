import Foundation
import GRDB
import VectisAPI
import VectisContracts

/// A queued PSA action with its ticket, as the worker claims it.
struct QueuedAction: FetchableRecord, Sendable {
    static let candidatesSQL = """
        SELECT a.id AS action_id, a.kind, a.text, a.attempts, t.* FROM psa_action a JOIN ticket t ON t.id = a.ticket_id
        WHERE a.state IN (?, ?) AND a.not_before <= ? ORDER BY a.id LIMIT 50
        """

    var id: Int64
    /// Nil for a kind this version does not know (refused by the table's CHECK; only a hand-edited file has one).
    var kind: PSAActionKind?
    var text: String
    var attempts: Int
    var ticket: TicketRecord

    init(row: Row) throws {
        id = row["action_id"]
        kind = PSAActionKind(rawValue: row["kind"])
        text = row["text"]
        attempts = row["attempts"]
        ticket = try TicketRecord(row: row)
    }
}

/// The `psa_action` queue and the ticket changes its outcomes make: the SQL of the ticket worker.
enum PSAActionQueue {
    /// The oldest actions that may run now, waiting or found in flight (after a crash mid-call).
    static func candidates(now: Date, _ db: Database) throws -> [QueuedAction] {
        try QueuedAction.fetchAll(
            db.cachedStatement(sql: QueuedAction.candidatesSQL),
            arguments: [PSAActionState.pending, PSAActionState.inFlight, now.timeIntervalSince1970])
    }

    /// Marked before the call and committed: found like this after a crash, it may already have happened.
    static func markInFlight(_ action: Int64, now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE psa_action SET state = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?")
            .execute(arguments: [PSAActionState.inFlight, now.timeIntervalSince1970, action])
    }

    static func markDone(_ action: Int64, now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE psa_action SET state = ?, last_error = NULL, updated_at = ? WHERE id = ?")
            .execute(arguments: [PSAActionState.done, now.timeIntervalSince1970, action])
    }

    /// Waits until `notBefore`, then runs again.
    static func reschedule(_ action: Int64, notBefore: Date, error: String, now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE psa_action SET state = ?, not_before = ?, last_error = ?, updated_at = ? WHERE id = ?")
            .execute(arguments: [PSAActionState.pending, notBefore.timeIntervalSince1970, error, now.timeIntervalSince1970, action])
    }

    /// Refused or out of attempts: never run again.
    static func markFailed(_ action: Int64, error: String, now: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE psa_action SET state = ?, last_error = ?, updated_at = ? WHERE id = ?")
            .execute(arguments: [PSAActionState.failed, error, now.timeIntervalSince1970, action])
    }

    /// Postpones an action without changing its state; returns the reason it had before.
    static func postpone(_ action: Int64, until: Date, reason: String, now: Date, _ db: Database) throws -> String? {
        let previous = try String.fetchOne(db.cachedStatement(sql: "SELECT last_error FROM psa_action WHERE id = ?"), arguments: [action])
        try db.cachedStatement(sql: "UPDATE psa_action SET not_before = ?, last_error = ?, updated_at = ? WHERE id = ?")
            .execute(arguments: [until.timeIntervalSince1970, reason, now.timeIntervalSince1970, action])
        return previous
    }

    /// Queues an action. A note gets a marker of its own at the end, so a note found in flight after a crash is
    /// looked for on the ticket before it is added again.
    static func enqueue(ticket: Int64, kind: PSAActionKind, text: String, now: Date, _ db: Database) throws {
        let text = kind == .note ? text + "\n" + NoteMarker.make() : text
        try db.cachedStatement(
            sql: "INSERT INTO psa_action (ticket_id, kind, text, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [ticket, kind, text, PSAActionState.pending, now.timeIntervalSince1970, now.timeIntervalSince1970])
    }

    /// Ends every waiting action of a ticket that cannot take them any more (closed, merged or deleted in the PSA).
    static func dropWaiting(ticket: Int64, reason: String, now: Date, _ db: Database) throws {
        try db.cachedStatement(
            sql: "UPDATE psa_action SET state = ?, last_error = ?, updated_at = ? WHERE ticket_id = ? AND state IN (?, ?)"
        ).execute(arguments: [
            PSAActionState.done, "not carried out: \(reason)", now.timeIntervalSince1970, ticket, PSAActionState.pending,
            PSAActionState.inFlight
        ])
    }

    /// Retry counts from 2 s doubling up to a minute.
    static func backoff(attempts: Int) -> Duration {
        .seconds(min(60, 1 << min(max(attempts, 0), 6)))
    }
}

extension TicketRecord {
    /// A new ticket, queued to be opened (its `open` action follows); returns its id.
    static func insertOpening(
        rule: Int64, dedupeKey: String, tenant: String, customerId: String, customerName: String, subjectId: String,
        subjectName: String, deviceSerial: String, companyId: String, night: String, summary: String, replaces: Int64? = nil,
        agentClass: AgentClass? = nil, at now: Date, _ db: Database
    ) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO ticket (rule_id, dedupe_key, tenant, customer_id, customer_name, agent_id, agent_name, device_serial,
                    company_id, state, opened_night, last_noted_night, created_at, summary, replaces_ticket_id, agent_class)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            rule, dedupeKey, tenant, customerId, customerName, subjectId, subjectName, deviceSerial, companyId, TicketState.opening,
            night, night, now.timeIntervalSince1970, summary, replaces, agentClass
        ])
        return db.lastInsertedRowID
    }

    /// Noted for this night (or day); a problem seen again after a recovery note is live again.
    static func markNoted(_ id: Int64, night: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET last_noted_night = ?, recovered_at = NULL WHERE id = ?").execute(arguments: [
            night, id
        ])
    }

    static func markRecovered(_ id: Int64, at: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET recovered_at = ? WHERE id = ?").execute(arguments: [at.timeIntervalSince1970, id])
    }

    static func markOpened(_ id: Int64, externalId: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET external_id = ?, state = ? WHERE id = ?")
            .execute(arguments: [externalId, TicketState.open, id])
    }

    static func countNote(_ id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET notes = notes + 1 WHERE id = ?").execute(arguments: [id])
    }

    static func markClosed(_ id: Int64, at: Date, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET state = ?, closed_at = ?, closed_by = ? WHERE id = ?")
            .execute(arguments: [TicketState.closed, at.timeIntervalSince1970, TicketView.Closer.vectis, id])
    }

    static func markFailed(_ id: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE ticket SET state = ? WHERE id = ?").execute(arguments: [TicketState.failed, id])
    }
}
