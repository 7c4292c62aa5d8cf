import Foundation
import GRDB
import Logging
import ServiceLifecycle
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Reads every open ticket back from its PSA on a schedule, least recently read first, spending at most a share of
/// each PSA account's request budget: a person's close (or a merge, or a delete) is known before the next failed
/// night, and the alert feed is told. A ticket is also read before each note, close or reopen (the ticket worker).
final class TicketReadBack: Service, Sendable {
    let database: DatabasePool
    let worker: TicketWorker
    let outbox: Outbox
    let secrets: SecretBox
    let interval: Duration
    let share: Double
    let logger: Logger

    /// Tickets looked at per pass at most (each costs one request).
    static let maxPerPass = 5_000

    init(
        database: DatabasePool, worker: TicketWorker, outbox: Outbox, secrets: SecretBox, interval: Duration, share: Double,
        logger: Logger
    ) {
        (self.database, self.worker, self.outbox, self.secrets, self.interval, self.share, self.logger) =
            (database, worker, outbox, secrets, interval, share, logger)
    }

    func run() async throws {
        guard share > 0 else { return }
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                    _ = try await pass()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("ticket read-back pass failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// One pass over the open tickets; returns how many were read.
    func pass(now: Date = Date()) async throws -> Int {
        let due = try await database.read { db in
            try TicketRecord.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM ticket WHERE state = ? AND external_id IS NOT NULL
                        ORDER BY checked_at IS NOT NULL, checked_at, id LIMIT ?
                        """),
                arguments: [TicketState.open, Self.maxPerPass])
        }
        var read = 0
        var accountSpent: Set<String> = []
        let byRule = Dictionary(grouping: due, by: \.ruleId)
        for ruleId in byRule.keys.sorted() {
            guard
                let rule = try await database.read({ db in try RuleConnection.load(ruleId, db: db, secrets: self.secrets) }),
                !accountSpent.contains(TicketWorker.budget(for: rule).account)
            else { continue }
            let (adapter, calls) = worker.adapter(for: rule, share: worker.readBackShare(for: rule, share: share))
            for ticket in byRule[ruleId] ?? [] {
                guard let external = ticket.externalId, !Task.isCancelled else { break }
                let reading: PSATicketReading
                do {
                    reading = try await adapter.readTicket(ticketId: external)
                } catch {
                    // The share is spent, or the PSA fails: the rest wait for the next pass, least recently read first.
                    if case .rejected(_, let message) = error, message == PSAHTTPClient.shareSpent {
                        accountSpent.insert(TicketWorker.budget(for: rule).account)
                    }
                    break
                }
                read += 1
                try await record(reading, of: ticket, at: Date())
            }
            let journal = calls.calls.filter { $0.error != nil }
            if !journal.isEmpty { try await database.write { db in try TicketWorker.record(journal, rule: ruleId, db: db) } }
        }
        return read
    }

    /// Writes what the PSA said; a ticket found closed, merged or deleted is the person's, and the feed is told.
    func record(_ reading: PSATicketReading, of ticket: TicketRecord, at now: Date) async throws {
        try await database.write { [outbox] db in
            // Read again inside the write: the worker may have changed it meanwhile.
            guard let current = try TicketRecord.find(id: ticket.id, db), current.state == .open else { return }
            guard reading.state != .open else {
                try TicketLifecycle.recordReading(ticket.id, reading, at: now, db)
                return
            }
            let closed = try TicketLifecycle.closedByPerson(current, reading, at: now, db)
            guard let rule = try RuleRecord.find(id: current.ruleId, db) else { return }
            let external = current.externalId ?? "#\(current.id)"
            let what = TicketLifecycle.describe(reading, psa: rule.psa)
            try Audit.record(
                rule: rule.id, subject: current.dedupeKey, kind: "ticket-closed-by-person", detail: "ticket \(external) was \(what)", db: db
            )
            let detail: String
            if current.recoveredAt != nil {
                detail = "Ticket \(external) was \(what)."
            } else {
                let next = RulePlan.afterClose(rule.policy, ticket: closed, now: now)
                detail =
                    "Ticket \(external) was \(what) while the problem goes on: on the next failed night "
                    + TicketLifecycle.consequence(next, policy: rule.policy) + "."
            }
            try TicketLifecycle.announcePersonClose(closed, rule: rule, detail: detail, outbox: outbox, db)
        }
    }
}
