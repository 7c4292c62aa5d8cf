import Foundation
import VectisAPI
import VectisContracts

/// One claimed PSA action and the rule it runs under.
struct PSAJob: Sendable {
    var action: QueuedAction
    var kind: PSAActionKind
    var rule: RuleConnection

    var ticket: TicketRecord { action.ticket }
    /// The attempt this run is (the claim counted it).
    var attempt: Int { action.attempts + 1 }
}

/// Carries out one claimed action against the PSA — the only part of the worker that calls out, and nothing here
/// touches the database.
enum PSAActionRunner {
    struct Execution: Sendable {
        var outcome: Result<String, PSAError>
        /// The PSA's ticket number after the call (a create sets it; an adopted ticket too).
        var externalId: String?
    }

    static func execute(_ job: PSAJob, adapter: any PSAAdapter) async -> Execution {
        let ticket = job.ticket
        let key = ticket.dedupeKey
        var externalId = ticket.externalId
        do {
            switch job.kind {
            case .open:
                if let existing = externalId {
                    return Execution(outcome: .success("ticket \(existing) already open"), externalId: existing)
                }
                if job.attempt > 1, let found = try await adapter.findOpenTicket(dedupeKey: key, companyId: ticket.companyId) {
                    // The earlier attempt did create it (a timeout or a crash hid the answer): adopt, do not duplicate.
                    return Execution(outcome: .success("found ticket \(found) by its key; not created again"), externalId: found)
                }
                let summary = ticket.summary ?? "Datto backup failing since night \(ticket.openedNight): \(ticket.agentName)"
                let created = try await adapter.createTicket(
                    NewTicket(companyId: ticket.companyId, summary: summary, details: job.action.text, dedupeKey: key))
                externalId = created
                return Execution(outcome: .success("opened ticket \(created)"), externalId: created)
            case .note:
                guard let externalId else { return neverOpened }
                try await adapter.addNote(ticketId: externalId, text: job.action.text)
                return Execution(outcome: .success("added a note to ticket \(externalId)"), externalId: externalId)
            case .close:
                guard let externalId else { return neverOpened }
                try await adapter.closeTicket(ticketId: externalId)
                return Execution(outcome: .success("closed ticket \(externalId)"), externalId: externalId)
            }
        } catch {
            return Execution(outcome: .failure(error), externalId: externalId)
        }
    }

    /// A note or close for a ticket the PSA never confirmed (the claim holds them back; this is the last guard).
    static let neverOpened = Execution(outcome: .failure(.rejected(status: 0, message: "the ticket was never opened")), externalId: nil)
}
