import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisDelivery
import VectisStorage

/// Turns recorded backup runs into alerts — one per problem — and carries out what people do with them.
enum AlertStore {
    static let backupJobFailure = "backup-job-failure"

    /// One sighting of a problem: a failed run, or a silent failure starting or lasting another day.
    struct Occurrence {
        var type: String
        var severity: AlertSeverity
        var tenant: String
        /// The agent (`a_…`), or the appliance (`d_…`) for `device-offline`.
        var subjectId: String
        var customer: CustomerRef
        var deviceSerial: String
        var deviceName: String?
        var agentVolume: String?
        var agentName: String?
        var seenAt: Date
        var lastError: String?
        var failedNights: Int?
        var since: Date?
        var days: Int?
    }

    /// A failed run raises the agent's alert or adds an occurrence to it; a success resolves it.
    static func apply(_ job: BackupJobRecorded, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let agentId = StableID.agent(tenant: tenant, deviceSerial: job.deviceSerial, volume: job.agentVolume)
        // An old failure replayed after a newer success is history, not a current problem.
        if job.status == .failure && (job.currentlyFailing ?? true) {
            try record(
                Occurrence(
                    type: backupJobFailure, severity: .high, tenant: tenant, subjectId: agentId, customer: job.customer,
                    deviceSerial: job.deviceSerial, agentVolume: job.agentVolume, agentName: job.agentName, seenAt: job.runAt,
                    lastError: job.errorMessage, failedNights: job.failedNightsInARow),
                now: now, db: db, outbox: outbox)
        } else if job.status == .success, job.currentlyFailing == false,
            let existing = try AlertRecord.unresolved(type: backupJobFailure, tenant: tenant, subjectId: agentId, db)
        {
            try resolve(id: existing.id, reason: "recovered", by: nil, at: job.runAt, now: now, db: db, outbox: outbox)
        }
    }

    /// Severity of each silent failure: a missed backup, an offline appliance and a backup that would not boot
    /// are as bad as a failure; an offsite copy falling behind leaves the local one, and a filling appliance is
    /// medium until its check says high (95% by default).
    static func severity(_ kind: BackupConditionChanged.Kind) -> AlertSeverity {
        switch kind {
        case .offsiteStale, .applianceStorage: .medium
        case .backupMissed, .deviceOffline, .screenshotFailed: .high
        }
    }

    /// A silent failure raises its alert (one per agent — or per appliance — and kind), counts each further day,
    /// and resolves when it ends: `recovered` when backups, check-ins or replication came back, otherwise the
    /// reason (`paused`, `archived`, `removed`, `superseded` by a failed run).
    static func apply(_ condition: BackupConditionChanged, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let subjectId =
            condition.agentVolume.map { StableID.agent(tenant: tenant, deviceSerial: condition.deviceSerial, volume: $0) }
            ?? StableID.device(tenant: tenant, serial: condition.deviceSerial)
        switch condition.change {
        case .started, .continued:
            try record(
                Occurrence(
                    type: condition.kind.rawValue, severity: condition.severity ?? severity(condition.kind), tenant: tenant,
                    subjectId: subjectId,
                    customer: condition.customer, deviceSerial: condition.deviceSerial, deviceName: condition.deviceName,
                    agentVolume: condition.agentVolume, agentName: condition.agentName, seenAt: condition.observedAt,
                    lastError: condition.detail, since: condition.since, days: condition.days),
                now: now, db: db, outbox: outbox)
        case .ended:
            guard let existing = try AlertRecord.unresolved(type: condition.kind.rawValue, tenant: tenant, subjectId: subjectId, db)
            else { return }
            try resolve(
                id: existing.id, reason: (condition.endReason ?? .recovered).rawValue, by: nil, at: condition.observedAt, now: now,
                db: db, outbox: outbox)
        }
    }

    /// Raises the subject's alert of this type, or adds an occurrence to the one already open.
    static func record(_ sighting: Occurrence, now: Date, db: Database, outbox: Outbox) throws {
        let customerId = StableID.customer(tenant: sighting.tenant, key: sighting.customer.key)
        let muted = try isMuted(agentId: sighting.subjectId, customerId: customerId, at: now, db: db)
        // The agent name column names the subject: the appliance for device-wide alerts.
        let subjectName = sighting.agentName ?? sighting.deviceName ?? sighting.deviceSerial
        guard let existing = try AlertRecord.unresolved(type: sighting.type, tenant: sighting.tenant, subjectId: sighting.subjectId, db)
        else {
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO alert (tenant, type, severity, state, agent_id, customer_id, customer_key, customer_name,
                        device_serial, agent_volume, agent_name, occurrences, first_seen_at, last_seen_at, last_error,
                        failed_nights, raised, updated_at, device_name, since, days)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            try insert.bind(
                sighting.tenant, sighting.type, sighting.severity.rawValue, (muted ? AlertState.muted : .open).rawValue, sighting.subjectId,
                customerId, sighting.customer.key, sighting.customer.name, sighting.deviceSerial, sighting.agentVolume ?? "",
                subjectName, sighting.seenAt.timeIntervalSince1970, sighting.seenAt.timeIntervalSince1970, sighting.lastError,
                sighting.failedNights, !muted, now.timeIntervalSince1970, sighting.deviceName,
                sighting.since?.timeIntervalSince1970, sighting.days)
            try insert.execute()
            if !muted {
                try outbox.append(
                    AlertRaised(alert: try snapshot(id: db.lastInsertedRowID, db: db)),
                    tenant: sighting.tenant, customerKey: sighting.customer.key, in: db)
            }
            return
        }
        let id = existing.id
        let wasMuted = existing.state == .muted
        let state: AlertState = wasMuted && !muted ? .open : existing.state
        let update = try db.cachedStatement(
            sql: """
                UPDATE alert SET occurrences = occurrences + 1, last_seen_at = max(last_seen_at, ?), last_error = ?,
                    failed_nights = ?, customer_name = ?, agent_name = ?, state = ?, raised = raised OR ?, updated_at = ?,
                    device_name = coalesce(?, device_name), since = coalesce(?, since), days = coalesce(?, days), severity = ?
                WHERE id = ?
                """)
        try update.bind(
            sighting.seenAt.timeIntervalSince1970, sighting.lastError, sighting.failedNights, sighting.customer.name,
            subjectName, state.rawValue, state != .muted, now.timeIntervalSince1970, sighting.deviceName,
            sighting.since?.timeIntervalSince1970, sighting.days, sighting.severity.rawValue, id)
        try update.execute()
        guard state != .muted else { return }  // recorded, but a muted condition raises nothing
        let alert = try snapshot(id: id, db: db)
        if !existing.raised {
            try outbox.append(AlertRaised(alert: alert), tenant: sighting.tenant, customerKey: sighting.customer.key, in: db)
        } else {
            try outbox.append(
                AlertUpdated(alert: alert, reason: wasMuted ? .unmuted : .occurrence),
                tenant: sighting.tenant, customerKey: sighting.customer.key, in: db)
        }
    }

    /// The agent (or appliance) a rule's event is about.
    static func subjectId(_ fired: RuleFired, tenant: String) -> String {
        fired.subjectId
            ?? fired.subject.agentVolume.map { StableID.agent(tenant: tenant, deviceSerial: fired.subject.deviceSerial, volume: $0) }
            ?? StableID.device(tenant: tenant, serial: fired.subject.deviceSerial)
    }

    /// Puts a rule's remark (e.g. "no PSA company mapped", "the ticket was closed by a person; the rule reopens it")
    /// on the subject's unresolved alert (of the rule's alert type, when the event names one).
    static func note(_ fired: RuleFired, tenant: String, db: Database) throws {
        guard let detail = fired.detail else { return }
        let note = String(detail.prefix(500))
        // Two statements rather than `(? IS NULL OR type = ?)`, which no index can serve.
        if let type = fired.alertType {
            try db.cachedStatement(
                sql: "UPDATE alert SET note = ? WHERE tenant = ? AND type = ? AND agent_id = ? AND \(AlertRecord.unresolvedSQL)"
            ).execute(arguments: [note, tenant, type, subjectId(fired, tenant: tenant)])
        } else {
            try db.cachedStatement(sql: "UPDATE alert SET note = ? WHERE tenant = ? AND agent_id = ? AND \(AlertRecord.unresolvedSQL)")
                .execute(arguments: [note, tenant, subjectId(fired, tenant: tenant)])
        }
    }

    /// A person closed the rule's ticket once the problem was over: the alert of that problem is resolved `ticket-closed`.
    static func resolveByTicket(_ fired: RuleFired, tenant: String, now: Date, db: Database, outbox: Outbox) throws {
        guard let type = fired.alertType,
            let alert = try AlertRecord.unresolved(type: type, tenant: tenant, subjectId: subjectId(fired, tenant: tenant), db)
        else { return }
        try resolve(id: alert.id, reason: "ticket-closed", by: "psa", at: now, now: now, db: db, outbox: outbox)
    }

    /// Resolves an alert; says so on the bus only if it was ever raised there.
    static func resolve(id: Int64, reason: String, by: String?, at: Date, now: Date, db: Database, outbox: Outbox) throws {
        try db.cachedStatement(
            sql: """
                UPDATE alert SET state = ?, resolved_at = ?, resolved_reason = ?, resolved_by = ?, updated_at = ?
                WHERE id = ? AND \(AlertRecord.unresolvedSQL)
                """
        ).execute(arguments: [AlertState.resolved.rawValue, at.timeIntervalSince1970, reason, by, now.timeIntervalSince1970, id])
        guard db.changesCount == 1, let alert = try AlertRecord.find(id: id, db), alert.raised else { return }
        try outbox.append(
            AlertResolved(alert: alert.snapshot, reason: reason, resolvedAt: at), tenant: alert.tenant, customerKey: alert.customer.key,
            in: db)
    }

    enum ActionError: Error, Equatable { case notFound, alreadyResolved, notOpen }

    static func acknowledge(id: Int64, by: String?, now: Date, db: Database, outbox: Outbox) throws {
        guard let alert = try AlertRecord.find(id: id, db) else { throw ActionError.notFound }
        guard alert.state == .open else { throw alert.state == .resolved ? ActionError.alreadyResolved : ActionError.notOpen }
        try db.cachedStatement(
            sql: "UPDATE alert SET state = ?, acknowledged_at = ?, acknowledged_by = ?, updated_at = ? WHERE id = ?"
        )
        .execute(arguments: [AlertState.acknowledged.rawValue, now.timeIntervalSince1970, by, now.timeIntervalSince1970, id])
        try outbox.append(
            AlertUpdated(alert: try snapshot(id: id, db: db), reason: .acknowledged), tenant: alert.tenant,
            customerKey: alert.customer.key, in: db)
    }

    /// Mutes an agent or a whole customer until `until`; their open alerts go quiet at once.
    static func mute(scope: MuteScope, targetId: String, until: Date, reason: String?, by: String?, now: Date, db: Database, outbox: Outbox)
        throws -> Int64
    {
        try db.cachedStatement(
            sql: "INSERT INTO mute (scope, target_id, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        )
        .execute(arguments: [scope, targetId, until.timeIntervalSince1970, reason, by, now.timeIntervalSince1970])
        let muteId = db.lastInsertedRowID
        let affected = try AlertRecord.fetchAll(
            db.cachedStatement(sql: "\(AlertRecord.select) WHERE \(scope.alertColumn) = ? AND state IN (?, ?)"),
            arguments: [targetId, AlertState.open.rawValue, AlertState.acknowledged.rawValue])
        for alert in affected {
            try db.cachedStatement(sql: "UPDATE alert SET state = ?, updated_at = ? WHERE id = ?")
                .execute(arguments: [AlertState.muted.rawValue, now.timeIntervalSince1970, alert.id])
            try outbox.append(
                AlertUpdated(alert: try snapshot(id: alert.id, db: db), reason: .muted), tenant: alert.tenant,
                customerKey: alert.customer.key, in: db)
        }
        return muteId
    }

    static func isMuted(agentId: String, customerId: String, at now: Date, db: Database) throws -> Bool {
        let query = try db.cachedStatement(
            sql: """
                SELECT 1 FROM mute WHERE until > ? AND ((scope = ? AND target_id = ?) OR (scope = ? AND target_id = ?))
                LIMIT 1
                """)
        try query.bind(now.timeIntervalSince1970, MuteScope.agent.rawValue, agentId, MuteScope.customer.rawValue, customerId)
        return try query.fetchFirst { _ in true } ?? false
    }

    static func snapshot(id: Int64, db: Database) throws -> AlertSnapshot {
        guard let alert = try AlertRecord.find(id: id, db) else { throw ActionError.notFound }
        return alert.snapshot
    }
}
