import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// Judges, from what is stored, which agents have missed their backups, which appliances stopped checking in and
/// whose offsite copies fell behind; records the conditions in force and publishes each start, each further day
/// and each end. Run by `SilenceWatch` on a timer: silence is exactly what no event announces.
enum SilenceCheck {
    typealias Kind = BackupConditionChanged.Kind

    /// What one pass did, for logs, metrics and tests.
    struct Outcome: Equatable {
        var started = 0
        var continued = 0
        var ended = 0
        /// Subjects left as they stand: agents of an appliance that is offline, or back but not read since.
        var notJudged = 0
    }

    enum Verdict {
        /// The condition holds: it has lasted since `since` (the last good thing, or when the agent became known).
        case on(since: Date, lastGood: Date?, thresholdHours: Double)
        case off(reason: String)
        /// Nothing can be said (the appliance is offline, or just back and its agents not read since): keep what stands.
        case unknown
    }

    struct Subject {
        var kind: Kind
        var id: String
        var tenant: String
        var customerId: String
        var customer: CustomerRef
        var deviceSerial: String
        var deviceName: String?
        var agentVolume: String?
        var agentName: String?
        /// When the collector last reported on it: everything is judged as of then, so a collector that stopped
        /// (wrong key, outage) freezes the picture instead of making the whole fleet look silent.
        var asOf: Date
    }

    static func run(settings: SilenceSettings, now: Date, db: Database, outbox: Outbox) throws -> Outcome {
        var judged: [(Subject, Verdict)] = []
        var offlineDevices: Set<String> = []
        var active: [String: Row] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM condition WHERE ended_at IS NULL")) {
            active["\(row["tenant"] as String)|\(row["kind"] as String)|\(row["subject_id"] as String)"] = row
        }

        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM device")) {
            let tenant: String = row["tenant"]
            let serial: String = row["serial"]
            let customerId: String = row["customer_id"]
            let asOf = Date(timeIntervalSince1970: row["observed_at"])
            let subject = Subject(
                kind: .deviceOffline, id: StableID.device(tenant: tenant, serial: serial), tenant: tenant, customerId: customerId,
                customer: CustomerRef(key: row["customer_key"], name: row["customer_name"]), deviceSerial: serial, deviceName: row["name"],
                asOf: asOf)
            let window = settings.windows(tenant: tenant, customerId: customerId).deviceOfflineHours
            let verdict: Verdict
            if row["hidden"] as Bool {
                verdict = .off(reason: "removed")
            } else if window == 0 {
                verdict = .off(reason: "check-off")
            } else if let lastSeen = (row["last_seen_at"] as Double?).map(Date.init(timeIntervalSince1970:)) {
                verdict = asOf.timeIntervalSince(lastSeen) > window * 3_600
                    ? .on(since: lastSeen, lastGood: lastSeen, thresholdHours: window) : .off(reason: "recovered")
            } else {
                verdict = .unknown  // Datto gave no check-in time
            }
            if case .on = verdict { offlineDevices.insert("\(tenant)/\(serial)") }
            if case .off(reason: "recovered") = verdict, active["\(tenant)|\(Kind.deviceOffline.rawValue)|\(subject.id)"] != nil {
                // Back: what is stored about its agents predates that; judge them once they are read again.
                try db.cachedStatement(sql: "UPDATE device SET back_online_at = ? WHERE tenant = ? AND serial = ?")
                    .execute(arguments: [now.timeIntervalSince1970, tenant, serial])
                offlineDevices.insert("\(tenant)/\(serial)")
            }
            judged.append((subject, verdict))
        }

        let agents = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT a.*, d.name AS device_name, d.back_online_at, s.last_success_at, s.last_run_at
                FROM agent a LEFT JOIN agent_summary s ON s.agent_id = a.id
                LEFT JOIN device d ON d.tenant = a.tenant AND d.serial = a.device_serial
                """))
        for row in agents {
            let tenant: String = row["tenant"]
            let serial: String = row["device_serial"]
            let customerId: String = row["customer_id"]
            let windows = settings.windows(tenant: tenant, customerId: customerId)
            let observed: Double = row["updated_at"]
            let asOf = Date(timeIntervalSince1970: observed)
            func subject(_ kind: Kind) -> Subject {
                Subject(
                    kind: kind, id: row["id"], tenant: tenant, customerId: customerId,
                    customer: CustomerRef(key: row["customer_key"], name: row["customer_name"]), deviceSerial: serial,
                    deviceName: row["device_name"], agentVolume: row["volume"], agentName: row["name"], asOf: asOf)
            }
            func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
            let ended: String? = (row["is_removed"] as Bool) ? "removed" : (row["is_archived"] as Bool) ? "archived"
                : (row["is_paused"] as Bool) ? "paused" : nil
            if let ended {
                judged.append((subject(.backupMissed), .off(reason: ended)))
                judged.append((subject(.offsiteStale), .off(reason: ended)))
                continue
            }
            // The appliance being offline is the one problem to report; its agents cannot be judged meanwhile, nor
            // until they are read again after it is back.
            if offlineDevices.contains("\(tenant)/\(serial)") || observed <= (row["back_online_at"] as Double?) ?? -.infinity {
                judged.append((subject(.backupMissed), .unknown))
                judged.append((subject(.offsiteStale), .unknown))
                continue
            }
            // Datto's own `lastSnapshot` comes with the agent, so a snapshot whose run is still on its way counts.
            let lastSuccess = [date("last_success_at"), date("last_snapshot_at")].compactMap { $0 }.max()
            let lastRun = [date("last_run_at"), date("last_snapshot_at")].compactMap { $0 }.max()
            judged.append((subject(.backupMissed), missed(
                lastSuccess: lastSuccess, lastRun: lastRun, firstKnown: date("first_known_at") ?? asOf, windows: windows, now: asOf)))
            judged.append((subject(.offsiteStale), offsite(
                latestOffsite: date("latest_offsite_at"), lastSuccess: lastSuccess, windows: windows, now: asOf)))
        }
        return try reconcile(judged, active: active, now: now, db: db, outbox: outbox)
    }

    /// No successful run within the window — and no failed one either: runs that arrive and fail are the
    /// `backup-job-failure` alert's story, so a failing agent does not also count as silent.
    static func missed(lastSuccess: Date?, lastRun: Date?, firstKnown: Date, windows: SilenceWindows, now: Date) -> Verdict {
        let window = windows.missedBackupHours * 3_600
        guard window > 0 else { return .off(reason: "check-off") }
        let quietSinceLastRun = lastRun.map { now.timeIntervalSince($0) > window } ?? true
        if let lastSuccess {
            if now.timeIntervalSince(lastSuccess) <= window { return .off(reason: "recovered") }
            return quietSinceLastRun ? .on(since: lastSuccess, lastGood: lastSuccess, thresholdHours: windows.missedBackupHours)
                : .off(reason: "superseded")
        }
        if lastRun == nil {
            // Never backed up: expected within the grace period of becoming known.
            let grace = windows.newAgentGraceHours * 3_600
            return grace > 0 && now.timeIntervalSince(firstKnown) > grace
                ? .on(since: firstKnown, lastGood: nil, thresholdHours: windows.newAgentGraceHours) : .off(reason: "recovered")
        }
        return quietSinceLastRun ? .on(since: firstKnown, lastGood: nil, thresholdHours: windows.missedBackupHours) : .off(reason: "superseded")
    }

    /// The latest offsite point is older than the threshold while newer local backups wait to be replicated (an
    /// agent that stopped backing up has nothing to send: that is `backup-missed`). Never judged for an agent
    /// that has no offsite point at all (a local-only plan).
    static func offsite(latestOffsite: Date?, lastSuccess: Date?, windows: SilenceWindows, now: Date) -> Verdict {
        let window = windows.offsiteStaleHours * 3_600
        guard window > 0, let latestOffsite else { return .off(reason: "check-off") }
        let behind = (lastSuccess ?? .distantPast) > latestOffsite
        return behind && now.timeIntervalSince(latestOffsite) > window
            ? .on(since: latestOffsite, lastGood: latestOffsite, thresholdHours: windows.offsiteStaleHours) : .off(reason: "recovered")
    }

    /// Whole days a condition has lasted, counting the day it started: 1 when raised, 2 a day later…
    static func days(since: Date, thresholdHours: Double, now: Date) -> Int {
        max(1, 1 + Int(((now.timeIntervalSince(since) - thresholdHours * 3_600) / 86_400).rounded(.down)))
    }

    private static func reconcile(
        _ judged: [(Subject, Verdict)], active: [String: Row], now: Date, db: Database, outbox: Outbox
    ) throws -> Outcome {
        var outcome = Outcome()
        for (subject, verdict) in judged {
            let current = active["\(subject.tenant)|\(subject.kind.rawValue)|\(subject.id)"]
            switch verdict {
            case .unknown:
                outcome.notJudged += 1
            case let .on(since, lastGood, threshold):
                let days = days(since: since, thresholdHours: threshold, now: subject.asOf)
                if let current {
                    guard days > (current["days"] as Int) else { continue }
                    try db.cachedStatement(sql: "UPDATE condition SET days = ?, since = ? WHERE id = ?")
                        .execute(arguments: [days, since.timeIntervalSince1970, current["id"] as Int64])
                    try publish(subject, .continued, since: since, lastGood: lastGood, days: days, threshold: threshold, outbox: outbox, db: db)
                    outcome.continued += 1
                } else {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO condition (tenant, kind, subject_id, customer_id, device_serial, agent_volume, since, days, started_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """)
                        .execute(arguments: [subject.tenant, subject.kind.rawValue, subject.id, subject.customerId, subject.deviceSerial,
                                    subject.agentVolume, since.timeIntervalSince1970, days, now.timeIntervalSince1970])
                    try publish(subject, .started, since: since, lastGood: lastGood, days: days, threshold: threshold, outbox: outbox, db: db)
                    outcome.started += 1
                }
            case let .off(reason):
                guard let current else { continue }
                try db.cachedStatement(sql: "UPDATE condition SET ended_at = ?, end_reason = ? WHERE id = ?")
                    .execute(arguments: [now.timeIntervalSince1970, reason, current["id"] as Int64])
                let since = Date(timeIntervalSince1970: current["since"])
                try publish(subject, .ended, since: since, lastGood: nil, days: current["days"], threshold: 0, outbox: outbox, db: db,
                            endReason: reason)
                outcome.ended += 1
            }
        }
        return outcome
    }

    private static func publish(
        _ subject: Subject, _ change: BackupConditionChanged.Change, since: Date, lastGood: Date?, days: Int, threshold: Double,
        outbox: Outbox, db: Database, endReason: String? = nil
    ) throws {
        let detail = endReason.map { SilenceText.ended(subject.kind, reason: $0) }
            ?? SilenceText.headline(subject.kind, since: since, neverBackedUp: subject.kind == .backupMissed && lastGood == nil, now: subject.asOf)
        try outbox.append(
            BackupConditionChanged(
                kind: subject.kind, change: change, customer: subject.customer, deviceSerial: subject.deviceSerial,
                deviceName: subject.deviceName, agentVolume: subject.agentVolume, agentName: subject.agentName, lastGoodAt: lastGood,
                since: since, days: days, thresholdHours: threshold, detail: detail, observedAt: subject.asOf, endReason: endReason),
            tenant: subject.tenant, customerKey: subject.customer.key, in: db)
    }
}

/// The words the hub, the alerts and the tickets use for a silent failure.
public enum SilenceText {
    /// "31 h" up to three days, then "5 days"; minutes under an hour.
    public static func duration(_ seconds: TimeInterval) -> String {
        let seconds = max(0, seconds)
        if seconds < 3_600 { return "\(Int(seconds / 60)) min" }
        if seconds < 72 * 3_600 { return "\(Int(seconds / 3_600)) h" }
        return "\(Int(seconds / 86_400)) days"
    }

    static func headline(_ kind: BackupConditionChanged.Kind, since: Date, neverBackedUp: Bool, now: Date) -> String {
        let age = duration(now.timeIntervalSince(since))
        switch kind {
        case .backupMissed: return neverBackedUp ? "No backup yet, \(age) after it was added" : "No successful backup for \(age)"
        case .deviceOffline: return "Appliance offline: last check-in \(age) ago"
        case .offsiteStale: return "Latest offsite copy is \(age) old"
        }
    }

    static func ended(_ kind: BackupConditionChanged.Kind, reason: String) -> String {
        switch (kind, reason) {
        case (.backupMissed, "recovered"): return "Backing up again: a successful backup arrived"
        case (.backupMissed, "superseded"): return "Runs arrive again, but they fail: see the backup-job-failure alert"
        case (.deviceOffline, "recovered"): return "The appliance checked in again"
        case (.offsiteStale, "recovered"): return "Offsite replication caught up"
        case (_, "removed"): return "No longer listed by Datto"
        case (_, "paused"): return "Backups of this agent are paused"
        case (_, "archived"): return "The agent is archived"
        default: return "The check is off for this customer"
        }
    }
}
