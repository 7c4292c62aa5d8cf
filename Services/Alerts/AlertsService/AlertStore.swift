import Foundation
import GRDB
import VectisContracts
import VectisDelivery

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
        } else if job.status == .success, job.currentlyFailing == false, let existing = try unresolved(backupJobFailure, tenant, agentId, db) {
            try resolve(id: existing["id"], reason: "recovered", by: nil, at: job.runAt, now: now, db: db, outbox: outbox)
        }
    }

    /// Severity of each silent failure: a missed backup and an offline appliance are as bad as a failure; an
    /// offsite copy falling behind leaves the local one.
    static func severity(_ kind: BackupConditionChanged.Kind) -> AlertSeverity {
        kind == .offsiteStale ? .medium : .high
    }

    /// A silent failure raises its alert (one per agent — or per appliance — and kind), counts each further day,
    /// and resolves when it ends: `recovered` when backups, check-ins or replication came back, otherwise the
    /// reason (`paused`, `archived`, `removed`, `superseded` by a failed run).
    static func apply(_ condition: BackupConditionChanged, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let subjectId = condition.agentVolume.map { StableID.agent(tenant: tenant, deviceSerial: condition.deviceSerial, volume: $0) }
            ?? StableID.device(tenant: tenant, serial: condition.deviceSerial)
        switch condition.change {
        case .started, .continued:
            try record(
                Occurrence(
                    type: condition.kind.rawValue, severity: severity(condition.kind), tenant: tenant, subjectId: subjectId,
                    customer: condition.customer, deviceSerial: condition.deviceSerial, deviceName: condition.deviceName,
                    agentVolume: condition.agentVolume, agentName: condition.agentName, seenAt: condition.observedAt,
                    lastError: condition.detail, since: condition.since, days: condition.days),
                now: now, db: db, outbox: outbox)
        case .ended:
            guard let existing = try unresolved(condition.kind.rawValue, tenant, subjectId, db) else { return }
            try resolve(id: existing["id"], reason: (condition.endReason ?? .recovered).rawValue, by: nil, at: condition.observedAt, now: now,
                        db: db, outbox: outbox)
        }
    }

    static func unresolved(_ type: String, _ tenant: String, _ subjectId: String, _ db: Database) throws -> Row? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM alert WHERE tenant = ? AND type = ? AND agent_id = ? AND state != 'resolved'"),
            arguments: [tenant, type, subjectId])
    }

    /// Raises the subject's alert of this type, or adds an occurrence to the one already open.
    static func record(_ sighting: Occurrence, now: Date, db: Database, outbox: Outbox) throws {
        let customerId = StableID.customer(tenant: sighting.tenant, key: sighting.customer.key)
        let muted = try isMuted(agentId: sighting.subjectId, customerId: customerId, at: now, db: db)
        // The agent name column names the subject: the appliance for device-wide alerts.
        let subjectName = sighting.agentName ?? sighting.deviceName ?? sighting.deviceSerial
        guard let existing = try unresolved(sighting.type, sighting.tenant, sighting.subjectId, db) else {
            try db.cachedStatement(
                sql: """
                    INSERT INTO alert (tenant, type, severity, state, agent_id, customer_id, customer_key, customer_name,
                        device_serial, agent_volume, agent_name, occurrences, first_seen_at, last_seen_at, last_error,
                        failed_nights, raised, updated_at, device_name, since, days)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                .execute(arguments: [sighting.tenant, sighting.type, sighting.severity.rawValue, muted ? "muted" : "open", sighting.subjectId,
                            customerId, sighting.customer.key, sighting.customer.name, sighting.deviceSerial, sighting.agentVolume ?? "",
                            subjectName, sighting.seenAt.timeIntervalSince1970, sighting.seenAt.timeIntervalSince1970, sighting.lastError,
                            sighting.failedNights, !muted, now.timeIntervalSince1970, sighting.deviceName,
                            sighting.since?.timeIntervalSince1970, sighting.days])
            if !muted {
                try outbox.append(AlertRaised(alert: try snapshot(id: db.lastInsertedRowID, db: db)),
                                  tenant: sighting.tenant, customerKey: sighting.customer.key, in: db)
            }
            return
        }
        let id: Int64 = existing["id"]
        let wasMuted = (existing["state"] as String) == "muted"
        let state = wasMuted && !muted ? "open" : (existing["state"] as String)
        try db.cachedStatement(
            sql: """
                UPDATE alert SET occurrences = occurrences + 1, last_seen_at = max(last_seen_at, ?), last_error = ?,
                    failed_nights = ?, customer_name = ?, agent_name = ?, state = ?, raised = raised OR ?, updated_at = ?,
                    device_name = coalesce(?, device_name), since = coalesce(?, since), days = coalesce(?, days)
                WHERE id = ?
                """)
            .execute(arguments: [sighting.seenAt.timeIntervalSince1970, sighting.lastError, sighting.failedNights, sighting.customer.name,
                        subjectName, state, state != "muted", now.timeIntervalSince1970, sighting.deviceName,
                        sighting.since?.timeIntervalSince1970, sighting.days, id])
        guard state != "muted" else { return }  // recorded, but a muted condition raises nothing
        let alert = try snapshot(id: id, db: db)
        if !(existing["raised"] as Bool) {
            try outbox.append(AlertRaised(alert: alert), tenant: sighting.tenant, customerKey: sighting.customer.key, in: db)
        } else {
            try outbox.append(AlertUpdated(alert: alert, reason: wasMuted ? "unmuted" : "occurrence"),
                              tenant: sighting.tenant, customerKey: sighting.customer.key, in: db)
        }
    }

    /// Puts a rule's remark (e.g. "no PSA company mapped") on the agent's unresolved alert.
    static func note(_ fired: RuleFired, tenant: String, db: Database) throws {
        guard let detail = fired.detail else { return }
        let agentId = fired.subject.agentVolume.map { StableID.agent(tenant: tenant, deviceSerial: fired.subject.deviceSerial, volume: $0) }
            ?? StableID.device(tenant: tenant, serial: fired.subject.deviceSerial)
        try db.cachedStatement(
            sql: "UPDATE alert SET note = ? WHERE tenant = ? AND agent_id = ? AND state != 'resolved'")
            .execute(arguments: [detail, tenant, agentId])
    }

    /// Resolves an alert; says so on the bus only if it was ever raised there.
    static func resolve(id: Int64, reason: String, by: String?, at: Date, now: Date, db: Database, outbox: Outbox) throws {
        try db.cachedStatement(
            sql: """
                UPDATE alert SET state = 'resolved', resolved_at = ?, resolved_reason = ?, resolved_by = ?, updated_at = ?
                WHERE id = ? AND state != 'resolved'
                """).execute(arguments: [at.timeIntervalSince1970, reason, by, now.timeIntervalSince1970, id])
        guard db.changesCount == 1, let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT tenant, customer_key, raised FROM alert WHERE id = ?"), arguments: [id]),
            row["raised"] as Bool
        else { return }
        try outbox.append(
            AlertResolved(alert: try snapshot(id: id, db: db), reason: reason, resolvedAt: at),
            tenant: row["tenant"], customerKey: row["customer_key"], in: db)
    }

    enum ActionError: Error, Equatable { case notFound, alreadyResolved, notOpen }

    static func acknowledge(id: Int64, by: String?, now: Date, db: Database, outbox: Outbox) throws {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT state, tenant, customer_key FROM alert WHERE id = ?"), arguments: [id]) else {
            throw ActionError.notFound
        }
        guard (row["state"] as String) == "open" else {
            throw (row["state"] as String) == "resolved" ? ActionError.alreadyResolved : ActionError.notOpen
        }
        try db.cachedStatement(
            sql: "UPDATE alert SET state = 'acknowledged', acknowledged_at = ?, acknowledged_by = ?, updated_at = ? WHERE id = ?")
            .execute(arguments: [now.timeIntervalSince1970, by, now.timeIntervalSince1970, id])
        try outbox.append(AlertUpdated(alert: try snapshot(id: id, db: db), reason: "acknowledged"),
                          tenant: row["tenant"], customerKey: row["customer_key"], in: db)
    }

    /// Mutes an agent or a whole customer until `until`; their open alerts go quiet at once.
    static func mute(scope: String, targetId: String, until: Date, reason: String?, by: String?, now: Date, db: Database, outbox: Outbox) throws -> Int64 {
        try db.cachedStatement(
            sql: "INSERT INTO mute (scope, target_id, until, reason, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [scope, targetId, until.timeIntervalSince1970, reason, by, now.timeIntervalSince1970])
        let muteId = db.lastInsertedRowID
        let column = scope == "agent" ? "agent_id" : "customer_id"
        let affected = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, tenant, customer_key FROM alert WHERE \(column) = ? AND state IN ('open', 'acknowledged')"),
            arguments: [targetId])
        for row in affected {
            try db.cachedStatement(sql: "UPDATE alert SET state = 'muted', updated_at = ? WHERE id = ?")
                .execute(arguments: [now.timeIntervalSince1970, row["id"] as Int64])
            try outbox.append(AlertUpdated(alert: try snapshot(id: row["id"], db: db), reason: "muted"),
                              tenant: row["tenant"], customerKey: row["customer_key"], in: db)
        }
        return muteId
    }

    static func isMuted(agentId: String, customerId: String, at now: Date, db: Database) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: """
                SELECT 1 FROM mute WHERE until > ? AND ((scope = 'agent' AND target_id = ?) OR (scope = 'customer' AND target_id = ?))
                LIMIT 1
                """),
            arguments: [now.timeIntervalSince1970, agentId, customerId]) ?? false
    }

    static func snapshot(id: Int64, db: Database) throws -> AlertSnapshot {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM alert WHERE id = ?"), arguments: [id]) else {
            throw ActionError.notFound
        }
        return snapshot(row)
    }

    static func snapshot(_ row: Row) -> AlertSnapshot {
        AlertSnapshot(
            alertId: "al_\(row["id"] as Int64)", type: row["type"], severity: AlertSeverity(rawValue: row["severity"]) ?? .high,
            state: AlertState(rawValue: row["state"]) ?? .open,
            subject: AlertSubject(
                customer: CustomerRef(key: row["customer_key"], name: row["customer_name"]), deviceSerial: row["device_serial"],
                agentVolume: (row["agent_volume"] as String).isEmpty ? nil : row["agent_volume"],
                agentName: (row["agent_volume"] as String).isEmpty ? nil : row["agent_name"]),
            occurrences: row["occurrences"], firstSeenAt: Date(timeIntervalSince1970: row["first_seen_at"]),
            lastSeenAt: Date(timeIntervalSince1970: row["last_seen_at"]), lastError: row["last_error"],
            failedNightsInARow: row["failed_nights"])
    }
}
