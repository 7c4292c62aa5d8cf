import GRDB

/// What a queued PSA action does (`psa_action.kind`; the table's CHECK lists the same values).
enum PSAActionKind: String, Sendable, DatabaseValueConvertible {
    case open, note, close
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

/// Where a ticket Vectis holds stands (`ticket.state`).
enum TicketState: String, Sendable, DatabaseValueConvertible {
    /// Queued to be created; not yet confirmed by the PSA.
    case opening
    case open
    case closed
    /// The create was refused.
    case failed
}
