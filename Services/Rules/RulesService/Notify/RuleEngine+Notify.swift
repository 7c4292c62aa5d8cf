import Foundation
import GRDB
import VectisAPI
import VectisContracts

extension RuleEngine.Decision {
    /// Queues one message per channel of the rule when the plan says so, in the consumer's transaction: a crash
    /// loses nothing, and the queue's unique key (channel, problem, event, night) makes a replay send nothing twice.
    func notify(console: String) throws {
        let announced = try NotifyProblemRecord.find(rule: rule.id, dedupeKey: key, db)
        let plan = NotifyPlan.make(
            problem.notifyPhase, token: problem.token, threshold: rule.thresholdNights, repeats: rule.notifyRepeat,
            announced: announced.map { NotifyPlan.Announced(on: $0.announced, token: $0.lastToken, count: $0.lastCount) })
        guard case .send(let event) = plan else {
            // A streak the channels know of goes on untold (no repeats): remembered, so the next streak is told as new.
            if let announced, announced.announced, case .on = problem.phase, announced.lastToken != problem.token, !dryRun {
                try NotifyProblemRecord.save(
                    rule: rule.id, dedupeKey: key, announced: true, token: problem.token, count: problem.count, at: now, db)
            }
            return
        }
        let channels = rule.channelIds.map(ChannelRecord.publicId).joined(separator: ", ")
        guard try decide(dryRun ? "would-notify" : "notify", "\(event.rawValue) to \(channels) about \(problem.name)"), !dryRun else {
            return
        }
        try NotifyProblemRecord.save(
            rule: rule.id, dedupeKey: key, announced: event != .recovery, token: problem.token, count: problem.count, at: now, db)
        let message = NotificationMessages.problem(
            event, problem: problem, customerId: customerId, ruleId: "ru_\(rule.id)", ruleName: rule.name, console: console, at: now)
        // A disabled channel is not told (it would get old news when enabled again); a deleted one no longer exists.
        for channel in rule.channelIds where try ChannelRecord.isEnabled(id: channel, db) {
            try NotificationQueue.enqueue(
                channel: channel, rule: rule.id, dedupeKey: key, event: event, token: problem.token, message: message, now: now, db)
        }
    }
}

/// One row of `notify_problem`: what a rule's channels were last told about a problem.
struct NotifyProblemRecord: Sendable {
    var announced: Bool
    var lastToken: String
    var lastCount: Int

    static func find(rule: Int64, dedupeKey: String, _ db: Database) throws -> NotifyProblemRecord? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT announced, last_token, last_count FROM notify_problem WHERE rule_id = ? AND dedupe_key = ?"),
            arguments: [rule, dedupeKey]
        ).map { NotifyProblemRecord(announced: $0["announced"], lastToken: $0["last_token"], lastCount: $0["last_count"]) }
    }

    static func save(rule: Int64, dedupeKey: String, announced: Bool, token: String, count: Int, at now: Date, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO notify_problem (rule_id, dedupe_key, announced, last_token, last_count, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (rule_id, dedupe_key) DO UPDATE SET announced = excluded.announced, last_token = excluded.last_token,
                    last_count = excluded.last_count, updated_at = excluded.updated_at
                """
        ).execute(arguments: [rule, dedupeKey, announced, token, count, now.timeIntervalSince1970])
    }
}
