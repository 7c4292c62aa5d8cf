import Foundation
import GRDB
import VectisContracts
import VectisDelivery
import VectisStorage

/// Records runs in `backup_jobs` (once each, by natural key), keeps each agent's summary, and publishes
/// `backup.job.recorded` for every new row.
enum BackupJobStore {
    /// Keeps the agent (and its customer's current name) known even before its first run; a paused or archived
    /// agent's night is marked so (nothing was expected of it).
    static func apply(_ agent: DattoAgentSeen, tenant: String, calendar: NightCalendar, at now: Date, db: Database) throws {
        try upsertAgent(
            tenant: tenant, customer: agent.customer, serial: agent.deviceSerial, volume: agent.volume, name: agent.name,
            kind: agent.kind.rawValue, paused: agent.isPaused, archived: agent.isArchived, latestOffsiteAt: agent.latestOffsiteAt,
            lastSnapshotAt: agent.lastSnapshotAt, at: now, db: db)
        if let attempt = agent.lastScreenshotAttemptAt, let succeeded = agent.lastScreenshotSucceeded {
            try ApplianceHealth.noteScreenshot(
                agentId: StableID.agent(tenant: tenant, deviceSerial: agent.deviceSerial, volume: agent.volume), at: attempt,
                succeeded: succeeded, db)
        }
        if agent.isPaused || agent.isArchived {
            try NightRollup.markPaused(
                agentId: StableID.agent(tenant: tenant, deviceSerial: agent.deviceSerial, volume: agent.volume), tenant: tenant,
                customerId: StableID.customer(tenant: tenant, key: agent.customer.key), night: calendar.night(of: now), db)
        }
    }

    /// Keeps the appliance's last check-in (and when the collector last reported it) for the silence check, and
    /// marks the agents Datto no longer lists on it as removed, so they are not mistaken for silent ones.
    static func apply(_ device: DattoDeviceSeen, tenant: String, at now: Date, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO device (tenant, serial, name, customer_id, customer_key, customer_name, last_seen_at, hidden, observed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant, serial) DO UPDATE SET name = excluded.name, customer_id = excluded.customer_id,
                    customer_key = excluded.customer_key, customer_name = excluded.customer_name, last_seen_at = excluded.last_seen_at,
                    hidden = excluded.hidden, observed_at = excluded.observed_at
                """
        )
        .execute(arguments: [
            tenant, device.serialNumber, device.name, StableID.customer(tenant: tenant, key: device.customer.key),
            device.customer.key, device.customer.name, device.lastSeenAt?.timeIntervalSince1970, device.hidden,
            now.timeIntervalSince1970
        ])
        if let used = device.localStorageUsedBytes, let available = device.localStorageAvailableBytes {
            try ApplianceHealth.noteStorage(tenant: tenant, serial: device.serialNumber, used: used, available: available, at: now, db)
        }
        guard let volumes = device.assetVolumes else { return }
        let listed = Set(volumes)
        let known = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, volume, is_removed FROM agent WHERE tenant = ? AND device_serial = ?"),
            arguments: [tenant, device.serialNumber])
        for row in known {
            let removed = !listed.contains(row["volume"] as String)
            guard removed != (row["is_removed"] as Bool) else { continue }
            try db.cachedStatement(sql: "UPDATE agent SET is_removed = ? WHERE id = ?").execute(arguments: [removed, row["id"] as String])
        }
    }

    /// Inserts the run if it is new; returns the event published for it, or nil for a run already recorded.
    @discardableResult
    static func record(
        _ run: BackupRunObserved, tenant: String, calendar: NightCalendar, at now: Date, db: Database, outbox: Outbox,
        correlationId: String?
    ) throws -> BackupJobRecorded? {
        let agentId = StableID.agent(tenant: tenant, deviceSerial: run.deviceSerial, volume: run.agentVolume)
        let customerId = StableID.customer(tenant: tenant, key: run.customer.key)
        // The run says what backed up; a run from an older collector takes its agent's kind (known first, so there is one).
        if run.kind == nil { try knowAgent(of: run, agentId: agentId, customerId: customerId, tenant: tenant, at: now, db: db) }
        let kind =
            try run.kind?.rawValue
            ?? String.fetchOne(db.cachedStatement(sql: "SELECT kind FROM agent WHERE id = ?"), arguments: [agentId])
            ?? DattoAgentSeen.Kind.agent.rawValue
        let night = calendar.night(of: run.runAt)
        let status: BackupJobRecorded.Status = run.succeeded ? .success : .failure
        let verification = run.verification
        let errorsJSON = try verification.flatMap { $0.localErrors.isEmpty ? nil : try BusJSON.makeEncoder().encode($0.localErrors) }
            .map { String(decoding: $0, as: UTF8.self) }
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO backup_jobs (agent_id, tenant, customer_id, customer_key, customer_name, device_serial,
                    agent_volume, agent_name, run_at, night, status, raw_status, error_message, size_bytes,
                    local_verification_status, local_verification_errors, screenshot_status, screenshot_image, first_seen_at, kind)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        try insert.bind(
            agentId, tenant, customerId, run.customer.key, run.customer.name, run.deviceSerial, run.agentVolume, run.agentName,
            run.runAt.timeIntervalSince1970, night, status.rawValue, run.rawStatus, run.errorMessage, run.sizeBytes,
            verification?.localStatus, errorsJSON, verification?.screenshotStatus, verification?.screenshotImageURL,
            now.timeIntervalSince1970, kind)
        try insert.execute()
        guard db.changesCount == 1 else { return nil }  // re-poll, replay or restart: already recorded
        let jobId = db.lastInsertedRowID
        try NightRollup.recordRun(
            agentId: agentId, tenant: tenant, customerId: customerId, night: night, runAt: run.runAt, status: status,
            errorMessage: run.errorMessage, db)
        let summary: Summary
        if let advanced = try Summary.Stored.advance(
            agentId: agentId, runAt: run.runAt, succeeded: run.succeeded, errorMessage: run.errorMessage, night: night, db)
        {
            // A summary is written only after its agent, and neither is ever deleted: the agent is known.
            summary = advanced
        } else {
            if run.kind != nil { try knowAgent(of: run, agentId: agentId, customerId: customerId, tenant: tenant, at: now, db: db) }
            summary = try recomputeSummary(
                agentId: agentId, key: AgentKey(tenant: tenant, deviceSerial: run.deviceSerial, volume: run.agentVolume), db: db)
        }
        let event = BackupJobRecorded(
            jobId: jobId, deviceSerial: run.deviceSerial, agentVolume: run.agentVolume, agentName: run.agentName,
            customer: run.customer, runAt: run.runAt, status: status, rawStatus: run.rawStatus, errorMessage: run.errorMessage,
            sizeBytes: run.sizeBytes, night: night, failedNightsInARow: summary.failedNights,
            lastSuccessAt: summary.lastSuccessAt, lastFailureAt: summary.lastFailureAt,
            lastFailureMessage: summary.lastFailureMessage, currentlyFailing: summary.currentlyFailing,
            lastRunAt: summary.lastRunAt)
        try outbox.append(event, tenant: tenant, customerKey: run.customer.key, correlationId: correlationId, in: db)
        return event
    }

    typealias Summary = AgentRunSummary

    /// A run can come before its agent's announcement (they are separate topics); know the agent either way.
    static func knowAgent(of run: BackupRunObserved, agentId: String, customerId: String, tenant: String, at now: Date, db: Database) throws
    {
        try db.cachedStatement(
            sql: """
                INSERT INTO agent (id, tenant, customer_id, customer_key, customer_name, device_serial, volume, name, kind, updated_at,
                    first_known_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                """
        )
        .execute(arguments: [
            agentId, tenant, customerId, run.customer.key, run.customer.name, run.deviceSerial, run.agentVolume,
            run.agentName, (run.kind ?? .agent).rawValue, now.timeIntervalSince1970, now.timeIntervalSince1970
        ])
    }

    /// The agent's summary from its rows (found by the natural key's index).
    static func recomputeSummary(agentId: String, key: AgentKey, db: Database) throws -> Summary {
        let agent = AgentKey.sql
        let keyArguments = key.arguments
        let latest = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT run_at, status, night FROM backup_jobs WHERE \(agent) ORDER BY run_at DESC LIMIT 1"),
            arguments: keyArguments)
        let lastSuccess = try Date.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(run_at) FROM backup_jobs WHERE \(agent) AND status = ?"),
            arguments: keyArguments + [BackupJobRecorded.Status.success.rawValue])
        let lastFailure = try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT run_at, error_message FROM backup_jobs WHERE \(agent) AND status = ? ORDER BY run_at DESC LIMIT 1"),
            arguments: keyArguments + [BackupJobRecorded.Status.failure.rawValue])
        // Latest nights first: whether each had a successful run.
        let nights = try Bool.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT MAX(status = ?) AS succeeded FROM backup_jobs WHERE \(agent)
                    GROUP BY night ORDER BY night DESC LIMIT 400
                    """),
            arguments: [BackupJobRecorded.Status.success.rawValue] + keyArguments)
        let summary = Summary(
            lastRunAt: latest?["run_at"],
            lastSuccessAt: lastSuccess,
            lastFailureAt: lastFailure?["run_at"],
            lastFailureMessage: lastFailure?["error_message"],
            currentlyFailing: (latest?["status"] as String?).flatMap(BackupJobRecorded.Status.init(rawValue:)) == .failure,
            failedNights: AgentRunSummary.failedNightsInARow(latestFirst: nights))
        try store(summary, agentId: agentId, lastNight: latest?["night"], db: db)
        return summary
    }

    static func store(_ summary: Summary, agentId: String, lastNight: String?, db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO agent_summary (agent_id, last_run_at, last_success_at, last_failure_at, last_failure_message,
                    currently_failing, failed_nights, last_night)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (agent_id) DO UPDATE SET last_run_at = excluded.last_run_at, last_success_at = excluded.last_success_at,
                    last_failure_at = excluded.last_failure_at, last_failure_message = excluded.last_failure_message,
                    currently_failing = excluded.currently_failing, failed_nights = excluded.failed_nights,
                    last_night = excluded.last_night
                """
        )
        .execute(arguments: [
            agentId, summary.lastRunAt?.timeIntervalSince1970, summary.lastSuccessAt?.timeIntervalSince1970,
            summary.lastFailureAt?.timeIntervalSince1970, summary.lastFailureMessage, summary.currentlyFailing,
            summary.failedNights, lastNight
        ])
    }

    static func upsertAgent(
        tenant: String, customer: CustomerRef, serial: String, volume: String, name: String, kind: String, paused: Bool,
        archived: Bool, latestOffsiteAt: Date?, lastSnapshotAt: Date?, at now: Date, db: Database
    ) throws {
        // `updated_at` is when the collector last reported the agent: the silence check judges only fresh agents.
        try db.cachedStatement(
            sql: """
                INSERT INTO agent (id, tenant, customer_id, customer_key, customer_name, device_serial, volume, name, kind,
                    is_paused, is_archived, updated_at, first_known_at, latest_offsite_at, last_snapshot_at, is_removed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, customer_key = excluded.customer_key,
                    customer_name = excluded.customer_name, name = excluded.name, kind = excluded.kind,
                    is_paused = excluded.is_paused, is_archived = excluded.is_archived, updated_at = excluded.updated_at,
                    latest_offsite_at = coalesce(excluded.latest_offsite_at, agent.latest_offsite_at),
                    last_snapshot_at = coalesce(excluded.last_snapshot_at, agent.last_snapshot_at), is_removed = 0
                """
        ).execute(arguments: [
            StableID.agent(tenant: tenant, deviceSerial: serial, volume: volume), tenant,
            StableID.customer(tenant: tenant, key: customer.key), customer.key, customer.name, serial, volume, name,
            kind, paused, archived, now.timeIntervalSince1970, now.timeIntervalSince1970,
            latestOffsiteAt?.timeIntervalSince1970, lastSnapshotAt?.timeIntervalSince1970
        ])
    }
}
