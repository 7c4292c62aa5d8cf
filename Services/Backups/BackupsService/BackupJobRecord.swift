import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// One row of `backup_jobs`: a backup run as recorded, once per (agent, run time).
struct BackupJobRecord: StoredRecord, TableRecord {
    static let databaseTableName = "backup_jobs"

    var id: Int64
    var agentId: String
    var tenant: String
    var customerId: String
    var customerKey: String
    var customerName: String
    var agentName: String
    var agentVolume: String
    var deviceSerial: String
    var runAt: Date
    var night: String
    var status: BackupJobRecorded.Status
    var rawStatus: String
    var errorMessage: String?
    var sizeBytes: Int64?
    var localVerificationStatus: String?
    /// `[BackupVerification.Problem]` as JSON.
    var localVerificationErrors: String?
    var screenshotStatus: String?
    var firstSeenAt: Date
    var kind: DattoAgentSeen.Kind

    /// The newest runs across these agents (a customer's), newest first: each agent's newest `limit` through the
    /// natural key, merged. A customer index on `backup_jobs` would answer this in one seek but cost a random B-tree
    /// page on every recorded run; this costs `limit` rows per agent on a page view.
    static func recent(of agents: [AgentKey], limit: Int, _ db: Database) throws -> [BackupJobRecord] {
        var runs: [BackupJobRecord] = []
        for agent in agents { runs += try history(of: agent, before: nil, limit: limit, db) }
        return Array(runs.sorted { ($0.runAt, $0.id) > ($1.runAt, $1.id) }.prefix(limit))
    }

    /// The agent's runs before `before`, newest first; only the night's when `night` is given (a grid cell's runs).
    /// Found through the natural key (the agent's tenant, appliance and volume), the one index on an agent's runs.
    static func history(
        of agent: AgentKey, before: Date?, night: String? = nil, limit: Int, _ db: Database
    ) throws -> [BackupJobRecord] {
        let before = before?.timeIntervalSince1970 ?? Double.greatestFiniteMagnitude
        guard let night else {
            return try BackupJobRecord.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT * FROM backup_jobs WHERE \(AgentKey.sql) AND run_at < ? ORDER BY run_at DESC LIMIT ?
                        """),
                arguments: agent.arguments + [before, limit])
        }
        return try BackupJobRecord.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT * FROM backup_jobs WHERE \(AgentKey.sql) AND run_at < ? AND night = ? ORDER BY run_at DESC LIMIT ?
                    """),
            arguments: agent.arguments + [before, night, limit])
    }

    var view: RunView {
        // The stored problems were encoded by this service; a list that no longer decodes is shown as none.
        let errors = localVerificationErrors.flatMap {
            try? BusJSON.makeDecoder().decode([BackupVerification.Problem].self, from: Data($0.utf8))
        }
        return RunView(
            id: id, agentId: agentId, agentName: agentName, deviceSerial: deviceSerial, runAt: runAt, night: night, status: status,
            rawStatus: rawStatus, errorMessage: errorMessage, sizeBytes: sizeBytes, localVerificationStatus: localVerificationStatus,
            localVerificationErrors: errors, screenshotStatus: screenshotStatus, firstSeenAt: firstSeenAt, kind: kind)
    }
}

/// What names an agent's runs in `backup_jobs`: the natural key without the run time.
struct AgentKey {
    var tenant: String
    var deviceSerial: String
    var volume: String

    init(tenant: String, deviceSerial: String, volume: String) {
        self.tenant = tenant
        self.deviceSerial = deviceSerial
        self.volume = volume
    }

    /// The key of an `agent` row.
    init(agent row: Row) {
        self.init(tenant: row["tenant"], deviceSerial: row["device_serial"], volume: row["volume"])
    }

    /// The WHERE terms that select the agent's rows through the natural key's index, and their arguments.
    static let sql = "tenant = ? AND device_serial = ? AND agent_volume = ?"
    var arguments: StatementArguments { [tenant, deviceSerial, volume] }
}
