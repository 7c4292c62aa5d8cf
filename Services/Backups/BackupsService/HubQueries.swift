import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// Read side of `backup_jobs`.
struct HubQueries: Sendable {
    let database: DatabasePool
    let clock: @Sendable () -> Date

    func customerBackups(id: String) async throws -> CustomerBackups? {
        let now = clock()
        return try await database.read { db in
            // A customer is known by its agents or, before any agent is read, by its appliances.
            guard
                let customer = try Row.fetchOne(
                    db, sql: "SELECT tenant, customer_key, customer_name FROM agent WHERE customer_id = ? ORDER BY updated_at DESC LIMIT 1",
                    arguments: [id])
                    ?? Row.fetchOne(
                        db,
                        sql:
                            "SELECT tenant, customer_key, customer_name FROM device WHERE customer_id = ? ORDER BY observed_at DESC LIMIT 1",
                        arguments: [id])
            else { return nil }
            let appliances = try Row.fetchAll(
                db,
                sql: """
                    SELECT tenant, serial, name, last_seen_at, storage_used_bytes, storage_available_bytes, storage_full_at FROM device
                    WHERE customer_id = ? ORDER BY name, serial
                    """, arguments: [id]
            ).map { row in
                CustomerBackups.Appliance(
                    serial: row["serial"], name: row["name"], lastSeenAt: (row["last_seen_at"] as Date?),
                    storage: try Self.storage(row, now: now, db: db))
            }
            let agents = try Row.fetchAll(
                db,
                sql: Self.agentCards + " WHERE a.customer_id = ? ORDER BY a.device_serial, a.kind, a.name",
                arguments: [now.timeIntervalSince1970 - 86_400, id])
            let runs = try BackupJobRecord.recent(of: agents.map(AgentKey.init(agent:)), limit: 10, db)
            let conditions = try Self.conditions(customerId: id, now: now, db: db)
            return CustomerBackups(
                customer: .init(id: id, tenant: customer["tenant"], key: customer["customer_key"], name: customer["customer_name"]),
                appliances: appliances, agents: try agents.map { try Self.card($0, conditions: conditions) },
                recentRuns: runs.map(\.view))
        }
    }

    /// What an agent's card shows: the agent, its summary and its runs since `?` (a Unix time), counted through the
    /// natural key's index. Callers add the WHERE.
    static let agentCards = """
        SELECT a.*, s.last_run_at, s.last_success_at, s.last_failure_at, s.last_failure_message, s.currently_failing,
            s.failed_nights,
            (SELECT COUNT(*) FROM backup_jobs j
                WHERE j.tenant = a.tenant AND j.device_serial = a.device_serial AND j.agent_volume = a.volume AND j.run_at >= ?
            ) AS runs_24h
        FROM agent a LEFT JOIN agent_summary s ON s.agent_id = a.id
        """

    func agentRuns(id: String, limit: Int, before: Date?, night: String? = nil) async throws -> AgentRuns? {
        let now = clock()
        return try await database.read { db in
            guard
                let agent = try Row.fetchOne(
                    db,
                    sql: Self.agentCards + " WHERE a.id = ?",
                    arguments: [now.timeIntervalSince1970 - 86_400, id])
            else { return nil }
            let key = AgentKey(agent: agent)
            let rows = try BackupJobRecord.history(of: key, before: before, night: night, limit: limit + 1, db)
            let runs = rows.prefix(limit).map(\.view)
            let conditions = try Self.conditions(customerId: agent["customer_id"], now: now, db: db)
            return AgentRuns(
                agent: try Self.card(agent, conditions: conditions), runs: Array(runs),
                nextBefore: rows.count > limit ? runs.last?.runAt : nil)
        }
    }

    /// The appliance's local storage as last read, with its projection; nil before Datto reported it.
    static func storage(_ row: Row, now: Date, db: Database) throws -> CustomerBackups.Storage? {
        guard let used = row["storage_used_bytes"] as Int64?, let available = row["storage_available_bytes"] as Int64? else { return nil }
        let capacity = Double(used) + Double(available)
        let full = row["storage_full_at"] as Date?
        let history = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT at, used_bytes, available_bytes FROM device_storage_sample
                    WHERE tenant = ? AND serial = ? AND at >= ? ORDER BY at LIMIT 200
                    """),
            arguments: [row["tenant"] as String, row["serial"] as String, now.timeIntervalSince1970 - ApplianceHealth.projectionWindow]
        ).map { CustomerBackups.Storage.Sample(at: $0["at"], usedBytes: $0["used_bytes"], availableBytes: $0["available_bytes"]) }
        return CustomerBackups.Storage(
            usedBytes: used, availableBytes: available, percentUsed: capacity > 0 ? (Double(used) / capacity * 1_000).rounded() / 10 : 0,
            projectedFullAt: full, projection: ApplianceHealth.projectionText(fullAt: full, now: now), history: history)
    }

    /// The customer's conditions in force, by subject (agent id, or device id for `device-offline`).
    static func conditions(customerId: String, now: Date, db: Database) throws -> [String: [ConditionView]] {
        var bySubject: [String: [ConditionView]] = [:]
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM condition WHERE customer_id = ? AND ended_at IS NULL"), arguments: [customerId])
        for row in rows {
            guard let kind = BackupConditionChanged.Kind(rawValue: row["kind"]) else { continue }
            let since = (row["since"] as Date)
            // "No backup yet" when the clock started at the agent's arrival rather than at a backup.
            let noSuccess =
                try Bool.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT s.last_success_at IS NULL AND a.last_snapshot_at IS NULL
                            FROM agent a LEFT JOIN agent_summary s ON s.agent_id = a.id WHERE a.id = ?
                            """),
                    arguments: [row["subject_id"] as String]) ?? true
            let never = kind == .backupMissed && noSuccess
            // Screenshots and storage say more than their kind: their check's own words, as last published.
            let stored = kind == .screenshotFailed || kind == .applianceStorage ? row["detail"] as String? : nil
            bySubject[row["subject_id"], default: []].append(
                ConditionView(
                    type: kind, since: since, days: row["days"],
                    headline: stored ?? SilenceText.headline(kind, since: since, neverBackedUp: never, now: now)))
        }
        return bySubject
    }

    static func card(_ row: Row, conditions: [String: [ConditionView]]) throws -> AgentCard {
        func date(_ column: String) -> Date? { row[column] }
        let lastRun = date("last_run_at")
        let failing = (row["currently_failing"] as Bool?) ?? false
        let nights = (row["failed_nights"] as Int?) ?? 0
        let deviceId = StableID.device(tenant: row["tenant"], serial: row["device_serial"])
        // The appliance's storage is on the appliance, not on each of its agents' cards.
        let inForce = (conditions[row["id"]] ?? []) + (conditions[deviceId] ?? []).filter { $0.type != .applianceStorage }
        let (state, headline) = Self.standing(hasRun: lastRun != nil, failing: failing, failedNights: nights, conditions: inForce)
        return AgentCard(
            agentId: row["id"], name: row["name"], kind: try row.decodeValue(DattoAgentSeen.Kind.self, forColumn: "kind"),
            deviceSerial: row["device_serial"], volume: row["volume"],
            isPaused: row["is_paused"], isArchived: row["is_archived"], state: state, headline: headline, lastRunAt: lastRun,
            lastSuccessAt: date("last_success_at"),
            lastFailure: date("last_failure_at").map { AgentCard.Failure(at: $0, message: row["last_failure_message"]) },
            currentlyFailing: failing, failedNightsInARow: nights, runsLast24h: row["runs_24h"] ?? 0, conditions: inForce,
            screenshot: (row["screenshot_at"] as Date?).map { attempt in
                AgentCard.Screenshot(
                    lastAttemptAt: attempt, succeeded: row["screenshot_ok"] ?? false, lastSuccessAt: row["screenshot_success_at"])
            })
    }

    /// What an agent's card says, the first that applies: failing (runs arrive and fail), then a silent failure in
    /// force (missed, its appliance offline, offsite behind), then no backups yet, then OK.
    static func standing(hasRun: Bool, failing: Bool, failedNights nights: Int, conditions: [ConditionView]) -> (AgentCard.State, String) {
        if hasRun && failing {
            return (
                .failing, nights > 0 ? "Currently failing — \(nights) failed night\(nights == 1 ? "" : "s") in a row" : "Currently failing"
            )
        }
        let order: [(BackupConditionChanged.Kind, AgentCard.State)] = [
            (.backupMissed, .missed), (.deviceOffline, .deviceOffline), (.offsiteStale, .offsiteStale),
            (.screenshotFailed, .screenshotFailed)
        ]
        for (kind, state) in order {
            if let condition = conditions.first(where: { $0.type == kind }) { return (state, condition.headline) }
        }
        return hasRun ? (.ok, "OK") : (.noBackupsYet, "No backups yet")
    }
}
