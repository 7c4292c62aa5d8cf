import Foundation
import GRDB
import VectisContracts

/// What the silence check reads, one record type per read, by column name.
extension SilenceCheck {
    /// A condition in force (`condition` with `ended_at IS NULL`).
    struct ActiveCondition: FetchableRecord {
        static let sql = "SELECT id, days, since, tenant, kind, subject_id, severity FROM condition WHERE ended_at IS NULL"

        var id: Int64
        var days: Int
        var since: Date
        var key: String
        /// As last published (nil: the kind's usual severity).
        var severity: AlertSeverity?

        init(row: Row) {
            id = row["id"]
            days = row["days"]
            since = row["since"]
            key = "\(row["tenant"] as String)|\(row["kind"] as String)|\(row["subject_id"] as String)"
            severity = (row["severity"] as String?).flatMap(AlertSeverity.init(rawValue:))
        }

        /// A condition that starts now.
        static func start(
            _ subject: Subject, since: Date, days: Int, severity: AlertSeverity?, detail: String?, at now: Date, _ db: Database
        ) throws {
            try db.cachedStatement(
                sql: """
                    INSERT INTO condition (tenant, kind, subject_id, customer_id, device_serial, agent_volume, since, days, started_at,
                        severity, detail)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                subject.tenant, subject.kind.rawValue, subject.id, subject.customerId, subject.deviceSerial, subject.agentVolume,
                since.timeIntervalSince1970, days, now.timeIntervalSince1970, severity?.rawValue, detail
            ])
        }

        /// Another day of it, or a change of severity; `detail` is what the hub shows where the kind alone says too little.
        static func lasted(_ id: Int64, days: Int, since: Date, severity: AlertSeverity?, detail: String?, _ db: Database) throws {
            try db.cachedStatement(sql: "UPDATE condition SET days = ?, since = ?, severity = ?, detail = ? WHERE id = ?")
                .execute(arguments: [days, since.timeIntervalSince1970, severity?.rawValue, detail, id])
        }

        static func end(_ id: Int64, reason: EndReason, at now: Date, _ db: Database) throws {
            try db.cachedStatement(sql: "UPDATE condition SET ended_at = ?, end_reason = ? WHERE id = ?")
                .execute(arguments: [now.timeIntervalSince1970, reason.rawValue, id])
        }
    }

    /// An appliance, as of the collector's last report on it.
    struct DeviceStanding: FetchableRecord {
        static let sql = """
            SELECT tenant, serial, customer_id, customer_key, customer_name, name, observed_at, hidden, last_seen_at,
                storage_used_bytes, storage_available_bytes, storage_full_at FROM device
            """

        var tenant: String
        var serial: String
        var customerId: String
        var customer: CustomerRef
        var name: String?
        var observedAt: Date
        var hidden: Bool
        var lastSeenAt: Date?
        var storageUsedBytes: Int64?
        var storageAvailableBytes: Int64?
        var storageFullAt: Date?

        init(row: Row) {
            tenant = row["tenant"]
            serial = row["serial"]
            customerId = row["customer_id"]
            customer = CustomerRef(key: row["customer_key"], name: row["customer_name"])
            name = row["name"]
            observedAt = row["observed_at"]
            hidden = row["hidden"]
            lastSeenAt = row["last_seen_at"]
            storageUsedBytes = row["storage_used_bytes"]
            storageAvailableBytes = row["storage_available_bytes"]
            storageFullAt = row["storage_full_at"]
        }

        /// Seen back after being offline: its agents wait for news newer than this.
        static func markBackOnline(tenant: String, serial: String, at now: Date, _ db: Database) throws {
            try db.cachedStatement(sql: "UPDATE device SET back_online_at = ? WHERE tenant = ? AND serial = ?")
                .execute(arguments: [now.timeIntervalSince1970, tenant, serial])
        }
    }

    /// An agent with its run summary and its appliance's standing.
    struct AgentStanding: FetchableRecord {
        static let sql = """
            SELECT a.id, a.tenant, a.device_serial, a.customer_id, a.customer_key, a.customer_name, a.volume, a.name,
                a.updated_at, a.is_removed, a.is_archived, a.is_paused, a.first_known_at, a.last_snapshot_at,
                a.latest_offsite_at, a.screenshot_at, a.screenshot_ok, a.screenshot_success_at, a.screenshot_failing_since,
                s.last_success_at, s.last_run_at, d.name AS device_name,
                d.back_online_at AS device_back_online_at, d.hidden AS device_hidden,
                d.last_seen_at AS device_last_seen_at, d.observed_at AS device_observed_at
            FROM agent a LEFT JOIN agent_summary s ON s.agent_id = a.id
            LEFT JOIN device d ON d.tenant = a.tenant AND d.serial = a.device_serial
            """

        var id: String
        var tenant: String
        var deviceSerial: String
        var customerId: String
        var customer: CustomerRef
        var volume: String?
        var name: String?
        /// When the collector last reported on the agent.
        var observedAt: Date
        var isRemoved: Bool
        var isArchived: Bool
        var isPaused: Bool
        var firstKnownAt: Date?
        var lastSnapshotAt: Date?
        var latestOffsiteAt: Date?
        var lastSuccessAt: Date?
        var lastRunAt: Date?
        var screenshotAt: Date?
        var screenshotOK: Bool?
        var screenshotSuccessAt: Date?
        var screenshotFailingSince: Date?
        var deviceName: String?
        var deviceBackOnlineAt: Date?
        var deviceHidden: Bool?
        var deviceLastSeenAt: Date?
        var deviceObservedAt: Date?

        init(row: Row) {
            id = row["id"]
            tenant = row["tenant"]
            deviceSerial = row["device_serial"]
            customerId = row["customer_id"]
            customer = CustomerRef(key: row["customer_key"], name: row["customer_name"])
            volume = row["volume"]
            name = row["name"]
            observedAt = row["updated_at"]
            isRemoved = row["is_removed"]
            isArchived = row["is_archived"]
            isPaused = row["is_paused"]
            firstKnownAt = row["first_known_at"]
            lastSnapshotAt = row["last_snapshot_at"]
            latestOffsiteAt = row["latest_offsite_at"]
            lastSuccessAt = row["last_success_at"]
            lastRunAt = row["last_run_at"]
            screenshotAt = row["screenshot_at"]
            screenshotOK = row["screenshot_ok"]
            screenshotSuccessAt = row["screenshot_success_at"]
            screenshotFailingSince = row["screenshot_failing_since"]
            deviceName = row["device_name"]
            deviceBackOnlineAt = row["device_back_online_at"]
            deviceHidden = row["device_hidden"]
            deviceLastSeenAt = row["device_last_seen_at"]
            deviceObservedAt = row["device_observed_at"]
        }

        /// Why the agent is out of every check, if it is.
        var retired: SilenceCheck.EndReason? {
            isRemoved ? .removed : isArchived ? .archived : isPaused ? .paused : nil
        }
    }
}
