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
/// touches the database. A note, close or reopen first reads the ticket back: what a person did in the PSA wins.
enum PSAActionRunner {
    struct Execution: Sendable {
        enum Outcome: Sendable {
            case done(String)
            case failed(PSAError)
            /// Not carried out: the PSA has the ticket closed, merged or deleted (by a person, not by Vectis).
            case notOpen(PSATicketReading)
        }

        var outcome: Outcome
        /// The PSA's ticket number after the call (a create sets it; an adopted ticket too).
        var externalId: String?
        /// The ticket as the PSA holds it after the action, when it was read.
        var reading: PSATicketReading?
    }

    static func execute(_ job: PSAJob, adapter: any PSAAdapter) async -> Execution {
        let ticket = job.ticket
        let key = ticket.dedupeKey
        var externalId = ticket.externalId
        do {
            switch job.kind {
            case .open:
                if let existing = externalId {
                    return Execution(outcome: .done("ticket \(existing) already open"), externalId: existing)
                }
                if job.attempt > 1, let found = try await adapter.findOpenTicket(dedupeKey: key, companyId: ticket.companyId) {
                    // The earlier attempt did create it (a timeout or a crash hid the answer): adopt, do not duplicate.
                    return Execution(outcome: .done("found ticket \(found) by its key; not created again"), externalId: found)
                }
                let summary = ticket.summary ?? "Datto backup failing since night \(ticket.openedNight): \(ticket.agentName)"
                let created = try await adapter.createTicket(
                    NewTicket(
                        companyId: ticket.companyId, summary: summary, details: job.action.text, dedupeKey: key,
                        agentClass: ticket.agentClass))
                externalId = created
                return Execution(outcome: .done("opened ticket \(created)"), externalId: created)
            case .note:
                guard let externalId else { return neverOpened }
                let reading = try await adapter.readTicket(ticketId: externalId)
                guard reading.state == .open else { return Execution(outcome: .notOpen(reading), externalId: externalId, reading: reading) }
                // Found in flight: the note may be there already (the crash came after the call, before the record).
                if job.attempt > 1, let marker = NoteMarker.find(in: job.action.text),
                    try await adapter.hasNote(ticketId: externalId, marker: marker)
                {
                    return Execution(
                        outcome: .done("the note is on ticket \(externalId) already; not added twice"), externalId: externalId,
                        reading: reading)
                }
                try await adapter.addNote(ticketId: externalId, text: job.action.text)
                return Execution(outcome: .done("added a note to ticket \(externalId)"), externalId: externalId, reading: reading)
            case .close:
                guard let externalId else { return neverOpened }
                let reading = try await adapter.readTicket(ticketId: externalId)
                guard reading.state == .open else { return Execution(outcome: .notOpen(reading), externalId: externalId, reading: reading) }
                try await adapter.closeTicket(ticketId: externalId)
                return Execution(
                    outcome: .done("closed ticket \(externalId)"), externalId: externalId,
                    reading: PSATicketReading(state: .closed, statusName: nil))
            case .reopen:
                guard let externalId else { return neverOpened }
                let reading = try await adapter.readTicket(ticketId: externalId)
                switch reading.state {
                case .open:
                    // Reopened already: by the attempt a crash interrupted, or by a person. Never twice.
                    return Execution(outcome: .done("ticket \(externalId) is open already"), externalId: externalId, reading: reading)
                case .closed:
                    try await adapter.reopenTicket(ticketId: externalId)
                    return Execution(
                        outcome: .done("reopened ticket \(externalId)"), externalId: externalId,
                        reading: PSATicketReading(state: .open, statusName: nil))
                case .merged, .deleted:
                    return Execution(outcome: .notOpen(reading), externalId: externalId, reading: reading)
                }
            }
        } catch {
            return Execution(outcome: .failed(error), externalId: externalId)
        }
    }

    /// A note or close for a ticket the PSA never confirmed (the claim holds them back; this is the last guard).
    static let neverOpened = Execution(outcome: .failed(.rejected(status: 0, message: "the ticket was never opened")), externalId: nil)
}
