import Foundation
import GRDB
import VectisAPI
import VectisContracts

/// The agents failing or missing backups now (`open_problem`), kept from every problem the rules service sees,
/// whatever its rules: what the daily digest lists.
enum OpenProblems {
    struct Entry: FetchableRecord, Sendable {
        var customerId: String
        var customerName: String
        var subjectName: String
        var trigger: RuleTrigger
        var count: Int
        var error: String?

        init(row: Row) throws {
            customerId = row["customer_id"]
            customerName = row["customer_name"]
            subjectName = row["subject_name"]
            trigger = RuleTrigger(rawValue: row["trigger"]) ?? .failedNights
            count = row["count"]
            error = row["error"]
        }
    }

    static func record(_ problem: RuleProblem, tenant: String, now: Date, _ db: Database) throws {
        guard problem.trigger == .failedNights || problem.trigger == .backupMissed else { return }
        switch problem.phase {
        case .on:
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO open_problem (tenant, subject_id, trigger, customer_id, customer_name, subject_name, device_serial,
                        count, error, since_token, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (tenant, subject_id, trigger) DO UPDATE SET customer_name = excluded.customer_name,
                        subject_name = excluded.subject_name, count = excluded.count, error = excluded.error,
                        updated_at = excluded.updated_at
                    """)
            try upsert.bind(
                tenant, problem.subjectId, problem.trigger.rawValue, StableID.customer(tenant: tenant, key: problem.customer.key),
                problem.customer.name, problem.name, problem.deviceSerial, problem.count, problem.error, problem.token,
                now.timeIntervalSince1970)
            try upsert.execute()
        case .recovered, .ended:
            let delete = try db.cachedStatement(sql: "DELETE FROM open_problem WHERE tenant = ? AND subject_id = ? AND trigger = ?")
            try delete.bind(tenant, problem.subjectId, problem.trigger.rawValue)
            try delete.execute()
        case .neither:
            return
        }
    }

    /// A tenant's open problems, by customer name then agent name. A failing agent with no run recorded for a week
    /// (removed, or gone silent — then its missed backups say so) is no longer listed as failing.
    static func all(tenant: String, now: Date, _ db: Database) throws -> [Entry] {
        try Entry.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT * FROM open_problem WHERE tenant = ? AND (trigger <> ? OR updated_at >= ?)
                    ORDER BY customer_name, customer_id, subject_name, trigger LIMIT ?
                    """),
            arguments: [tenant, RuleTrigger.failedNights, (now - staleAfter).timeIntervalSince1970, limit])
    }

    static let staleAfter: TimeInterval = 7 * 86_400
    /// The most a digest lists.
    static let limit = 5_000
}
