import Foundation
import GRDB
import VectisAPI
import VectisStorage

/// The append-only audit log: every decision and every PSA call.
enum Audit {
    static func record(
        rule: Int64?, subject: String?, kind: String, detail: String, status: Int? = nil, durationMs: Int? = nil,
        dryRun: Bool = false, at: Date = Date(), db: Database
    ) throws {
        let insert = try db.cachedStatement(
            sql: "INSERT INTO audit (rule_id, at, subject, kind, detail, status, duration_ms, dry_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        try insert.bind(rule, at.timeIntervalSince1970, subject, kind, detail, status, durationMs, dryRun)
        try insert.execute()
    }

    /// Whether this decision was already recorded for this problem and night (so a re-run does not repeat it).
    static func exists(rule: Int64, subject: String, kind: String, detail: String, db: Database) throws -> Bool {
        let query = try db.cachedStatement(
            sql: "SELECT 1 FROM audit WHERE rule_id = ? AND subject = ? AND kind = ? AND detail = ? LIMIT 1")
        try query.bind(rule, subject, kind, detail)
        return try query.fetchFirst { _ in true } ?? false
    }

    /// How many times this was decided for this problem (e.g. retries requested).
    static func count(rule: Int64, subject: String, kind: String, db: Database) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COUNT(*) FROM audit WHERE rule_id = ? AND subject = ? AND kind = ?"),
            arguments: [rule, subject, kind]
        ) ?? 0
    }

    /// A rule's history, newest first (at most 500 lines).
    static func history(rule: Int64, _ db: Database) throws -> [RuleHistory.Entry] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM audit WHERE rule_id = ? ORDER BY id DESC LIMIT 500"), arguments: [rule]).map
        {
            RuleHistory.Entry(
                at: $0["at"], kind: $0["kind"], detail: $0["detail"], subject: $0["subject"], status: $0["status"],
                durationMs: $0["duration_ms"], dryRun: $0["dry_run"])
        }
    }
}
