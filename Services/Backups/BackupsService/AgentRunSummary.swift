import Foundation
import GRDB
import VectisStorage

/// An agent's backup-run summary (`agent_summary`): last run, last success, last failure and failed nights in a
/// row — what the hub, the alerts and the rules read instead of the run history.
struct AgentRunSummary: Equatable {
    var lastRunAt: Date?
    var lastSuccessAt: Date?
    var lastFailureAt: Date?
    var lastFailureMessage: String?
    var currentlyFailing: Bool
    var failedNights: Int

    /// The stored row, with the night of its latest run.
    struct Stored: FetchableRecord {
        static let columns = [
            "last_run_at", "last_success_at", "last_failure_at", "last_failure_message", "currently_failing", "failed_nights",
            "last_night"
        ]
        static let sql = "SELECT \(columns.joined(separator: ", ")) FROM agent_summary WHERE agent_id = ?"

        var summary: AgentRunSummary
        var lastNight: String?

        init(row: Row) throws {
            try row.requireColumns(Self.columns, select: Self.sql)
            try self.init(columns: row)
        }

        /// Reads `columns` by position (the summary is read for every recorded run).
        init(columns row: some StoredColumns) throws {
            summary = AgentRunSummary(
                lastRunAt: try row.optional(0), lastSuccessAt: try row.optional(1), lastFailureAt: try row.optional(2),
                lastFailureMessage: try row.optional(3), currentlyFailing: try row.value(4),
                failedNights: max(0, try row.value(5, as: Int.self)))
            lastNight = try row.optional(6)
        }

        init(summary: AgentRunSummary, lastNight: String?) {
            self.summary = summary
            self.lastNight = lastNight
        }

        /// Moves the stored summary on by a run newer than every run recorded, in the same night or a later one, in one
        /// statement; nil when the rows must be read instead (no run yet, or the run arrived out of order).
        ///
        /// Failed nights in a row: a success ends the streak; a failure in a new night adds one (a night with runs
        /// and no success); a failure in the same night leaves it as it was. A streak stored at its largest stays there.
        static func advance(
            agentId: String, runAt: Date, succeeded: Bool, errorMessage: String?, night: String, _ db: Database
        ) throws -> AgentRunSummary? {
            let update = try db.cachedStatement(
                sql: """
                    UPDATE agent_summary SET
                        last_success_at = CASE WHEN ?3 THEN ?2 ELSE last_success_at END,
                        last_failure_at = CASE WHEN ?3 THEN last_failure_at ELSE ?2 END,
                        last_failure_message = CASE WHEN ?3 THEN last_failure_message ELSE ?4 END,
                        currently_failing = NOT ?3,
                        failed_nights = CASE WHEN ?3 THEN 0 WHEN last_night = ?5 THEN max(0, failed_nights)
                            WHEN failed_nights >= 9223372036854775807 THEN failed_nights ELSE max(0, failed_nights) + 1 END,
                        last_run_at = ?2, last_night = ?5
                    WHERE agent_id = ?1 AND typeof(last_run_at) IN ('real', 'integer') AND typeof(last_night) = 'text'
                        AND ?2 > last_run_at AND ?5 >= last_night
                    RETURNING \(columns.joined(separator: ", "))
                    """)
            try update.bind(agentId, runAt.timeIntervalSince1970, succeeded, errorMessage, night)
            return try update.fetchFirst { try Stored(columns: $0).summary }
        }
    }

    /// Nights in a row, latest first, that had runs and no success.
    static func failedNightsInARow(latestFirst succeeded: [Bool]) -> Int {
        succeeded.prefix { !$0 }.count
    }
}
