import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// A customer with its counts, as the customer list reads it (`customer` and counts over `device`, `agent`,
/// `agent_last_run`).
struct CustomerSummary: FetchableRecord {
    static let sql = """
        SELECT c.*,
            (SELECT COUNT(*) FROM device d WHERE d.customer_id = c.id) AS devices,
            (SELECT COUNT(*) FROM agent a WHERE a.customer_id = c.id AND a.removed_at IS NULL) AS agents,
            (SELECT COUNT(*) FROM agent a JOIN agent_last_run r ON r.agent_id = a.id
                WHERE a.customer_id = c.id AND a.removed_at IS NULL AND NOT a.is_archived AND r.failed) AS failing
        FROM customer c
        """

    var view: CustomerView

    init(row: Row) {
        view = CustomerView(
            id: row["id"], tenant: row["tenant"], key: row["key"], name: row["name"], devices: row["devices"], agents: row["agents"],
            failingAgents: row["failing"], firstSeenAt: row["first_seen_at"])
    }
}

/// One row of `device`.
struct DeviceRecord: StoredRecord {
    var tenant: String
    var serialNumber: String
    var customerId: String
    var name: String
    var model: String?
    var lastSeenAt: Date?
    var localUsedBytes: Int64?
    var localAvailableBytes: Int64?
    var offsiteUsedBytes: Int64?
    var remoteWebUrl: String?
    var internalIp: String?
    var hidden: Bool

    static func find(tenant: String, serial: String, _ db: Database) throws -> DeviceRecord? {
        try DeviceRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM device WHERE tenant = ? AND serial_number = ?"), arguments: [tenant, serial])
    }

    func view(agents: [AgentRecord]) -> DeviceView {
        DeviceView(
            serialNumber: serialNumber, tenant: tenant, customerId: customerId, name: name, model: model, lastSeenAt: lastSeenAt,
            localStorageUsedBytes: localUsedBytes, localStorageAvailableBytes: localAvailableBytes,
            offsiteStorageUsedBytes: offsiteUsedBytes, remoteWebURL: remoteWebUrl, internalIP: internalIp, hidden: hidden,
            agents: agents.map(\.view))
    }
}

/// One row of `agent` (an agent or a share), with its newest run when the read joins `agent_last_run`.
struct AgentRecord: StoredRecord {
    var id: String
    var volume: String
    var customerId: String
    var name: String
    var kind: DattoAgentSeen.Kind
    var os: String?
    var ipAddress: String?
    var agentVersion: String?
    var isPaused: Bool
    var isArchived: Bool
    var lastSnapshotAt: Date?
    var latestOffsiteAt: Date?
    var lastScreenshotAt: Date?
    var lastScreenshotOk: Bool?
    var removedAt: Date?
    var lastRunAt: Date?
    var lastRunFailed: Bool?

    static func find(id: String, _ db: Database) throws -> AgentRecord? {
        try AgentRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM agent WHERE id = ?"), arguments: [id])
    }

    /// A device's agents and shares with their newest runs.
    static func onDevice(tenant: String, serial: String, _ db: Database) throws -> [AgentRecord] {
        try AgentRecord.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT a.*, r.run_at AS last_run_at, r.failed AS last_run_failed FROM agent a
                    LEFT JOIN agent_last_run r ON r.agent_id = a.id
                    WHERE a.tenant = ? AND a.device_serial = ? ORDER BY a.kind, a.name
                    """),
            arguments: [tenant, serial])
    }

    /// The agents a device still lists (not removed).
    static func listed(tenant: String, serial: String, _ db: Database) throws -> [AgentRecord] {
        try AgentRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM agent WHERE tenant = ? AND device_serial = ? AND removed_at IS NULL"),
            arguments: [tenant, serial])
    }

    var view: AgentView {
        AgentView(
            id: id, volume: volume, name: name, kind: kind, os: os, ipAddress: ipAddress, agentVersion: agentVersion,
            isPaused: isPaused, isArchived: isArchived, lastSnapshotAt: lastSnapshotAt, latestOffsiteAt: latestOffsiteAt,
            lastScreenshotAttemptAt: lastScreenshotAt, lastScreenshotSucceeded: lastScreenshotOk, lastRunAt: lastRunAt,
            lastRunFailed: lastRunFailed, removedAt: removedAt)
    }
}
