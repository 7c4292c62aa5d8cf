import Foundation
import VectisAPI

/// What a rule tells its channels about a problem: a pure decision, unit-tested on its own. Open once when the
/// threshold is reached, repeat on each further night or day only when the rule says so, recovery once — and only
/// about a problem the channels were told of.
enum NotifyPlan: Equatable {
    case nothing
    case send(NotificationEvent)

    /// What the channels were last told about this problem.
    struct Announced: Equatable {
        /// They were told it is on (and not yet that it is over).
        var on: Bool
        /// The night or day they were last told about.
        var token: String
        /// Its failed nights in a row (or days).
        var count: Int = 0
    }

    enum Phase: Equatable {
        case on(count: Int)
        case over
        case neither
    }

    static func make(_ phase: Phase, token: String, threshold: Int, repeats: Bool, announced: Announced?) -> NotifyPlan {
        switch phase {
        case .on(let count) where count >= threshold:
            // Not told yet, or told of an earlier streak whose end was never seen (the rule was off then): a streak goes
            // on night after night with a rising count, so another night without one is a new streak.
            guard let announced, announced.on, announced.token == token || count > announced.count else { return .send(.open) }
            return repeats && announced.token != token ? .send(.repeat) : .nothing
        case .over:
            return announced?.on == true ? .send(.recovery) : .nothing
        case .on, .neither:
            return .nothing
        }
    }
}

extension RuleProblem {
    var notifyPhase: NotifyPlan.Phase {
        switch phase {
        case .on: .on(count: count)
        case .recovered, .ended: .over
        case .neither: .neither
        }
    }
}
