import Foundation
import GRDB
import VectisAPI

/// Read side of the assets tables.
struct AssetQueries: Sendable {
    let database: DatabasePool

    static let customerSelect = """
        SELECT c.*,
            (SELECT COUNT(*) FROM device d WHERE d.customer_id = c.id) AS devices,
            (SELECT COUNT(*) FROM agent a WHERE a.customer_id = c.id AND a.removed_at IS NULL) AS agents,
            (SELECT COUNT(*) FROM agent a JOIN agent_last_run r ON r.agent_id = a.id
                WHERE a.customer_id = c.id AND a.removed_at IS NULL AND NOT a.is_archived AND r.failed) AS failing
        FROM customer c
        """

    static func customer(_ row: Row) -> CustomerView {
        CustomerView(
            id: row["id"], tenant: row["tenant"], key: row["key"], name: row["name"], devices: row["devices"],
            agents: row["agents"], failingAgents: row["failing"], firstSeenAt: (row["first_seen_at"] as Date))
    }

    func customers(tenant: String?) async throws -> [CustomerView] {
        try await database.read { db in
            let rows =
                try tenant.map {
                    try Row.fetchAll(db, sql: Self.customerSelect + " WHERE c.tenant = ? ORDER BY c.name", arguments: [$0])
                } ?? Row.fetchAll(db, sql: Self.customerSelect + " ORDER BY c.tenant, c.name")
            return rows.map(Self.customer)
        }
    }

    func customer(id: String) async throws -> CustomerView? {
        try await database.read { db in
            try Row.fetchOne(db, sql: Self.customerSelect + " WHERE c.id = ?", arguments: [id]).map(Self.customer)
        }
    }

    func assets(customerId: String) async throws -> CustomerAssets? {
        try await database.read { db in
            guard let customer = try Row.fetchOne(db, sql: Self.customerSelect + " WHERE c.id = ?", arguments: [customerId]) else {
                return nil
            }
            let devices = try Row.fetchAll(
                db, sql: "SELECT * FROM device WHERE customer_id = ? ORDER BY name, serial_number", arguments: [customerId])
            return CustomerAssets(
                customer: Self.customer(customer),
                devices: try devices.map { try Self.device($0, db: db) })
        }
    }

    func device(serialNumber: String, tenant: String?) async throws -> [DeviceView] {
        try await database.read { db in
            let rows =
                try tenant.map {
                    try Row.fetchAll(db, sql: "SELECT * FROM device WHERE serial_number = ? AND tenant = ?", arguments: [serialNumber, $0])
                } ?? Row.fetchAll(db, sql: "SELECT * FROM device WHERE serial_number = ?", arguments: [serialNumber])
            return try rows.map { try Self.device($0, db: db) }
        }
    }

    static func device(_ row: Row, db: Database) throws -> DeviceView {
        let agents = try Row.fetchAll(
            db,
            sql: """
                SELECT a.*, r.run_at AS last_run_at, r.failed AS last_run_failed FROM agent a
                LEFT JOIN agent_last_run r ON r.agent_id = a.id
                WHERE a.tenant = ? AND a.device_serial = ? ORDER BY a.kind, a.name
                """,
            arguments: [row["tenant"] as String, row["serial_number"] as String])
        func date(_ row: Row, _ column: String) -> Date? { row[column] }
        return DeviceView(
            serialNumber: row["serial_number"], tenant: row["tenant"], customerId: row["customer_id"], name: row["name"],
            model: row["model"], lastSeenAt: date(row, "last_seen_at"), localStorageUsedBytes: row["local_used_bytes"],
            localStorageAvailableBytes: row["local_available_bytes"], offsiteStorageUsedBytes: row["offsite_used_bytes"],
            remoteWebURL: row["remote_web_url"], internalIP: row["internal_ip"], hidden: row["hidden"],
            agents: agents.map { agent in
                AgentView(
                    id: agent["id"], volume: agent["volume"], name: agent["name"], kind: agent["kind"], os: agent["os"],
                    ipAddress: agent["ip_address"], agentVersion: agent["agent_version"], isPaused: agent["is_paused"],
                    isArchived: agent["is_archived"], lastSnapshotAt: date(agent, "last_snapshot_at"),
                    latestOffsiteAt: date(agent, "latest_offsite_at"), lastScreenshotAttemptAt: date(agent, "last_screenshot_at"),
                    lastScreenshotSucceeded: agent["last_screenshot_ok"], lastRunAt: date(agent, "last_run_at"),
                    lastRunFailed: agent["last_run_failed"], removedAt: date(agent, "removed_at"))
            })
    }
}
