import GRDB
import VectisAPI

/// What a queued PSA action does (`psa_action.kind`; the table's CHECK lists the same values).
enum PSAActionKind: String, Sendable, DatabaseValueConvertible {
    case open, note, close
    /// Sets the rule's reopen status on a closed ticket (its note follows as a `note`).
    case reopen
}

/// Where a queued PSA action stands (`psa_action.state`).
enum PSAActionState: String, Sendable, DatabaseValueConvertible {
    /// Waiting for its turn (and for `not_before`).
    case pending
    /// Marked before the call and committed: found like this after a crash, it may already have happened.
    case inFlight = "in-flight"
    case done
    /// Refused, or out of attempts; never retried.
    case failed
}

/// Where a ticket Vectis holds stands (`ticket.state`), as the API shows it.
typealias TicketState = TicketView.State

extension TicketView.State: DatabaseValueConvertible {
    /// The condition every query for a live ticket repeats word for word: SQLite uses the partial unique index
    /// `ticket_one_live` only for a WHERE that contains its own terms.
    static let liveSQL = "state IN ('\(Self.opening.rawValue)', '\(Self.open.rawValue)')"
}

extension TicketView.Closer: DatabaseValueConvertible {}
extension TicketView.PSAState: DatabaseValueConvertible {}
extension WhenClosedByPerson: DatabaseValueConvertible {}
