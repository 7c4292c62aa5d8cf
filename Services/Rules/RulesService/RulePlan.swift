import Foundation
import VectisAPI

/// What a rule does about a problem, before the once-per-night check and the company mapping: a pure decision,
/// unit-tested on its own.
enum RulePlan: Equatable {
    case nothing
    /// The threshold is reached: ask for a retry and/or open, note or reopen a ticket.
    case act(retry: Bool, ticket: TicketStep?)
    /// The problem is over: note it on the live ticket, and close it when the rule says so.
    case recover(ticket: Int64, close: Bool)
    /// The problem is over while a person has its ticket closed: nothing is written to the PSA (a recovery never
    /// reopens); the ticket remembers it, and the alert is told.
    case recoveredWhileClosed(ticket: Int64)

    enum TicketStep: Equatable {
        /// A new ticket; `replacing` is the problem's earlier ticket (closed, deleted or merged) it names.
        case open(replacing: Int64?)
        case note(ticket: Int64)
        /// Set the reopen status, then the note.
        case reopen(ticket: Int64)
        /// A person closed it and the rule leaves it so: history only.
        case leave(ticket: Int64)
    }

    /// The parts of a rule the plan reads.
    struct Policy: Equatable {
        var action: RuleAction
        var threshold: Int
        var closeOnRecovery: Bool
        var whenClosedByPerson: WhenClosedByPerson = .reopen
        var reopenWindowDays: Int = 7

        var reopenWindow: TimeInterval { TimeInterval(reopenWindowDays) * 86_400 }
    }

    static func make(_ policy: Policy, problem: RuleProblem, latest: TicketRecord?, now: Date) -> RulePlan {
        switch problem.phase {
        case .on where problem.count >= policy.threshold:
            let retry = policy.action.retries && problem.retryId != nil && problem.subject.agentVolume != nil
            guard policy.action.opensTickets else { return .act(retry: retry, ticket: nil) }
            return .act(retry: retry, ticket: step(policy, latest: latest, token: problem.token, now: now))
        case .recovered, .ended:
            guard policy.action.opensTickets, let latest, latest.recoveredAt == nil else { return .nothing }
            if latest.isLive {
                if case .recovered = problem.phase { return .recover(ticket: latest.id, close: policy.closeOnRecovery) }
                return .recover(ticket: latest.id, close: false)  // over for another reason: left for a person to decide
            }
            if latest.state == .closed, latest.closedBy == .person, case .recovered = problem.phase {
                return .recoveredWhileClosed(ticket: latest.id)
            }
            return .nothing
        case .on, .neither:
            return .nothing
        }
    }

    /// What a failing night does to the problem's latest ticket.
    static func step(_ policy: Policy, latest: TicketRecord?, token: String, now: Date) -> TicketStep? {
        guard let latest else { return .open(replacing: nil) }
        switch latest.state {
        case .opening, .open:
            // One note per night (or day) on a live ticket.
            return latest.lastNotedNight == token ? nil : .note(ticket: latest.id)
        case .failed:
            return .open(replacing: nil)
        case .closed:
            return afterClose(policy, ticket: latest, now: now)
        }
    }

    /// A closed ticket and a problem that is on again (or still on).
    static func afterClose(_ policy: Policy, ticket: TicketRecord, now: Date) -> TicketStep {
        if ticket.psaState == .deleted || ticket.psaState == .merged { return .open(replacing: ticket.id) }
        let withinWindow = ticket.closedAt.map { now.timeIntervalSince($0) < policy.reopenWindow } ?? false
        if ticket.closedBy == .person && ticket.recoveredAt == nil {
            // A person closed it while the problem went on: what they did wins.
            switch policy.whenClosedByPerson {
            case .leave: return .leave(ticket: ticket.id)
            case .newTicket: return .open(replacing: ticket.id)
            case .reopen: return withinWindow ? .reopen(ticket: ticket.id) : .open(replacing: ticket.id)
            }
        }
        // Closed after the problem ended (by Vectis on recovery, or by a person): a new streak of the same problem.
        let mayReopen = ticket.closedBy != .person || policy.whenClosedByPerson == .reopen
        return withinWindow && mayReopen ? .reopen(ticket: ticket.id) : .open(replacing: ticket.id)
    }
}
