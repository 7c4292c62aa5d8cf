import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// One agent's night (`agent_night`), kept as runs, pauses and silent conditions arrive, so the grid, the rates
/// and the dashboard never scan `backup_jobs`.
struct AgentNight: Equatable, FetchableRecord {
    /// Why a night without runs is not just "no result".
    enum Silence: String {
        case missed, offline
    }

    var agentId: String
    var night: String
    var tenant: String
    var customerId: String
    var successes = 0
    var failures = 0
    var lastRunAt: Date?
    var lastStatus: BackupJobRecorded.Status?
    var lastError: String?
    /// Datto listed the agent paused or archived during the night: no backup was expected.
    var paused = false
    var silence: Silence?

    /// The columns of a night, in the order `init(columns:)` reads them.
    static let columnNames = [
        "agent_id", "night", "tenant", "customer_id", "successes", "failures", "last_run_at", "last_status", "last_error", "paused",
        "silence"
    ]
    static let columns = columnNames.joined(separator: ", ")

    init(agentId: String, night: String, tenant: String, customerId: String) {
        (self.agentId, self.night, self.tenant, self.customerId) = (agentId, night, tenant, customerId)
    }

    init(row: Row) throws {
        try row.requireColumns(Self.columnNames, select: "SELECT \(Self.columns) FROM agent_night")
        try self.init(columns: row)
    }

    /// Reads `columnNames` by position (the roll-up is read for every recorded run).
    init(columns row: some StoredColumns) throws {
        agentId = try row.value(0)
        night = try row.value(1)
        tenant = try row.value(2)
        customerId = try row.value(3)
        successes = max(0, try row.value(4, as: Int.self))
        failures = max(0, try row.value(5, as: Int.self))
        lastRunAt = try row.optional(6)
        lastStatus = try row.optional(7, as: String.self).flatMap(BackupJobRecorded.Status.init(rawValue:))
        lastError = try row.optional(8)
        paused = try row.value(9)
        silence = try row.optional(10, as: String.self).flatMap(Silence.init(rawValue:))
    }

    var hasRuns: Bool { successes > 0 || failures > 0 }
    /// A backup was expected: there were runs, or a silent condition held and the agent was not paused.
    var expected: Bool { hasRuns || (silence != nil && !paused) }
    var succeeded: Bool { successes > 0 }

    /// The cell, rolled up by `mode`: runs decide first, then a pause, then the appliance offline, then a missed backup.
    func status(_ mode: RollUp) -> NightCell.Status {
        if hasRuns {
            switch mode {
            case .worst: return failures == 0 ? .success : successes > 0 ? .partial : .failure
            case .last: return lastStatus == .success ? .success : .failure
            case .best: return successes > 0 ? .success : .failure
            }
        }
        if paused { return .paused }
        switch silence {
        case .offline: return .offline
        case .missed: return .missed
        case nil: return .none
        }
    }

    func cell(_ mode: RollUp) -> NightCell {
        NightCell(
            night: night, status: status(mode), successes: successes, failures: failures, lastRunAt: lastRunAt,
            lastError: failures > 0 ? lastError : nil)
    }
}

/// The SQL of `agent_night` and of `customer_night` (each customer's expected and succeeded agent-nights per night,
/// moved by the same changes, so rates and the fleet's chart sum a few rows per customer).
enum NightRollup {
    static func fetch(agentId: String, night: String, _ db: Database) throws -> AgentNight? {
        try db.cachedStatement(sql: "SELECT \(AgentNight.columns) FROM agent_night WHERE agent_id = ? AND night = ?")
            .fetchFirst(arguments: [agentId, night]) { try AgentNight(columns: $0) }
    }

    /// A run recorded for the first time: one upsert that counts it and returns the night as it now is, so the
    /// customer's night moves without reading the row first (a run is read and written on every recorded run).
    /// The night before the run is the returned one less this run: a night that did not exist reads as counted
    /// nothing, not paused, not silent — exactly as a missing row does.
    static func recordRun(
        agentId: String, tenant: String, customerId: String, night: String, runAt: Date, status: BackupJobRecorded.Status,
        errorMessage: String?, _ db: Database
    ) throws {
        let succeeded = status == .success
        // The latest run (the later, or the same time as the one held) names the night's last status; a failure's
        // message is kept when it is the latest failure or the night had none.
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO agent_night (\(AgentNight.columns)) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, NULL)
                ON CONFLICT (agent_id, night) DO UPDATE SET
                    successes = CASE WHEN successes >= 9223372036854775807 THEN successes ELSE successes + ?5 END,
                    failures = CASE WHEN failures >= 9223372036854775807 THEN failures ELSE failures + ?6 END,
                    last_error = CASE WHEN ?6 = 1 AND (last_error IS NULL OR last_run_at IS NULL OR ?7 >= last_run_at)
                        THEN ?9 ELSE last_error END,
                    last_status = CASE WHEN last_run_at IS NULL OR ?7 >= last_run_at THEN ?8 ELSE last_status END,
                    last_run_at = CASE WHEN last_run_at IS NULL OR ?7 >= last_run_at THEN ?7 ELSE last_run_at END
                RETURNING \(AgentNight.columns)
                """)
        try upsert.bind(
            agentId, night, tenant, customerId, succeeded ? 1 : 0, succeeded ? 0 : 1, runAt.timeIntervalSince1970, status.rawValue,
            succeeded ? nil : errorMessage)
        let after = try upsert.fetchFirst { try AgentNight(columns: $0) }
        guard let after else { return }
        var before = after
        if succeeded { before.successes -= min(1, before.successes) } else { before.failures -= min(1, before.failures) }
        try moveCustomerNight(from: before, to: after, db)
    }

    /// Datto listed the agent paused or archived during this night.
    static func markPaused(agentId: String, tenant: String, customerId: String, night: String, _ db: Database) throws {
        if try fetch(agentId: agentId, night: night, db)?.paused == true { return }
        try change(agentId: agentId, tenant: tenant, customerId: customerId, night: night, db) { $0.paused = true }
    }

    /// A silent condition held for the agent during these nights.
    static func markSilent(
        _ silence: AgentNight.Silence, agentId: String, tenant: String, customerId: String, nights: [String], _ db: Database
    ) throws {
        for night in nights {
            try change(agentId: agentId, tenant: tenant, customerId: customerId, night: night, db) { row in
                // An offline appliance explains a missed backup better than the missed backup does.
                if row.silence != .offline { row.silence = silence }
            }
        }
    }

    /// Reads the row (or starts one), applies `edit`, writes it, and moves the customer's night by the difference.
    private static func change(
        agentId: String, tenant: String, customerId: String, night: String, _ db: Database, _ edit: (inout AgentNight) -> Void
    ) throws {
        let before = try fetch(agentId: agentId, night: night, db)
        var row = before ?? AgentNight(agentId: agentId, night: night, tenant: tenant, customerId: customerId)
        edit(&row)
        guard row != before else { return }
        try db.cachedStatement(
            sql: """
                INSERT INTO agent_night (\(AgentNight.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (agent_id, night) DO UPDATE SET successes = excluded.successes, failures = excluded.failures,
                    last_run_at = excluded.last_run_at, last_status = excluded.last_status, last_error = excluded.last_error,
                    paused = excluded.paused, silence = excluded.silence
                """
        ).execute(arguments: [
            row.agentId, row.night, row.tenant, row.customerId, row.successes, row.failures, row.lastRunAt?.timeIntervalSince1970,
            row.lastStatus?.rawValue, row.lastError, row.paused, row.silence?.rawValue
        ])
        try moveCustomerNight(from: before, to: row, db)
    }

    /// Moves the customer's night by what changed between two states of an agent's night (nil: it did not exist,
    /// which counts as a night with nothing in it).
    private static func moveCustomerNight(from before: AgentNight?, to row: AgentNight, _ db: Database) throws {
        let expected = (row.expected ? 1 : 0) - (before?.expected == true ? 1 : 0)
        let succeeded = (row.succeeded ? 1 : 0) - (before?.succeeded == true ? 1 : 0)
        guard expected != 0 || succeeded != 0 else { return }
        // The night counts for the customer it was recorded under; the counts never go below zero.
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO customer_night (customer_id, night, tenant, expected, succeeded) VALUES (?1, ?2, ?3, max(0, ?4), max(0, ?5))
                ON CONFLICT (customer_id, night) DO UPDATE SET expected = max(0, expected + ?4), succeeded = max(0, succeeded + ?5)
                """)
        try upsert.bind(row.customerId, row.night, row.tenant, expected, succeeded)
        try upsert.execute()
    }
}

extension Int {
    /// `self + other`, held at `Int.max` instead of trapping.
    func addingClamped(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
