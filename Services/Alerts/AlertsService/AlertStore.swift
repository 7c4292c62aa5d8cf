import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// Turns recorded backup runs into alerts — one per problem — and carries out what people do with them.
enum AlertStore {
    static let backupJobFailure = "backup-job-failure"

    /// A failed run raises the agent's alert or adds an occurrence to it; a success resolves it.
    static func apply(_ job: BackupJobRecorded, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let agentId = StableID.agent(tenant: tenant, deviceSerial: job.deviceSerial, volume: job.agentVolume)
        let customerId = StableID.customer(tenant: tenant, key: job.customer.key)
        let existing = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM alert WHERE tenant = ? AND type = ? AND agent_id = ? AND state != 'resolved'"),
            arguments: [tenant, backupJobFailure, agentId])
        // An old failure replayed after a newer success is history, not a current problem.
        let failingNow = job.status == .failure && (job.currentlyFailing ?? true)
        if failingNow {
            let muted = try isMuted(agentId: agentId, customerId: customerId, at: now, db: db)
            guard let existing else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO alert (tenant, type, severity, state, agent_id, customer_id, customer_key, customer_name,
                            device_serial, agent_volume, agent_name, occurrences, first_seen_at, last_seen_at, last_error,
                            failed_nights, raised, updated_at)
                        VALUES (?, ?, 'high', ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)
                        """)
                    .execute(arguments: [tenant, backupJobFailure, muted ? "muted" : "open", agentId, customerId, job.customer.key,
                                job.customer.name, job.deviceSerial, job.agentVolume, job.agentName,
                                job.runAt.timeIntervalSince1970, job.runAt.timeIntervalSince1970, job.errorMessage,
                                job.failedNightsInARow, !muted, now.timeIntervalSince1970])
                if !muted {
                    try outbox.append(AlertRaised(alert: try snapshot(id: db.lastInsertedRowID, db: db)),
                                      tenant: tenant, customerKey: job.customer.key, in: db)
                }
                return
            }
            let id: Int64 = existing["id"]
            let wasMuted = (existing["state"] as String) == "muted"
            let state = wasMuted && !muted ? "open" : (existing["state"] as String)
            try db.cachedStatement(
                sql: """
                    UPDATE alert SET occurrences = occurrences + 1, last_seen_at = max(last_seen_at, ?), last_error = ?,
                        failed_nights = ?, customer_name = ?, agent_name = ?, state = ?, raised = raised OR ?, updated_at = ?
                    WHERE id = ?
                    """)
                .execute(arguments: [job.runAt.timeIntervalSince1970, job.errorMessage, job.failedNightsInARow, job.customer.name,
                            job.agentName, state, state != "muted", now.timeIntervalSince1970, id])
            guard state != "muted" else { return }  // recorded, but a muted condition raises nothing
            let alert = try snapshot(id: id, db: db)
            if !(existing["raised"] as Bool) {
                try outbox.append(AlertRaised(alert: alert), tenant: tenant, customerKey: job.customer.key, in: db)
            } else {
                try outbox.append(AlertUpdated(alert: alert, reason: wasMuted ? "unmuted" : "occurrence"),
                                  tenant: tenant, customerKey: job.customer.key, in: db)
            }
        } else if job.status == .success, job.currentlyFailing == false, let existing {
            try resolve(id: existing["id"], reason: "recovered", by: nil, at: job.runAt, now: now, db: db, outbox: outbox)
        }
    }

    /// Puts a rule's remark (e.g. "no PSA company mapped") on the agent's unresolved alert.
    static func note(_ fired: RuleFired, tenant: String, db: Database) throws {
        guard let volume = fired.subject.agentVolume, let detail = fired.detail else { return }
        let agentId = StableID.agent(tenant: tenant, deviceSerial: fired.subject.deviceSerial, volume: volume)
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
                agentVolume: row["agent_volume"], agentName: row["agent_name"]),
            occurrences: row["occurrences"], firstSeenAt: Date(timeIntervalSince1970: row["first_seen_at"]),
            lastSeenAt: Date(timeIntervalSince1970: row["last_seen_at"]), lastError: row["last_error"],
            failedNightsInARow: row["failed_nights"])
    }
}
