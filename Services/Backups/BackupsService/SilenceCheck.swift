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

        var key: String { "\(tenant)|\(kind.rawValue)|\(id)" }
    }

    /// Judges every appliance and agent in a read (the bus consumer is never held up by it), then, only when
    /// something changed, judges those subjects again in a short write and records and publishes the change —
    /// so news applied in between is never overruled by the read's older picture.
    static func run(settings: SilenceSettings, now: Date, database: DatabasePool, outbox: Outbox) async throws -> Outcome {
        let (devices, agents, notJudged) = try await database.read { db in
            let active = try activeConditions(db)
            var devices: Set<DeviceKey> = []
            var agents: Set<String> = []
            var notJudged = 0
            for (subject, verdict) in try judge(settings: settings, active: active, devices: nil, agents: nil, db: db) {
                switch (verdict, active[subject.key]) {
                case (.unknown, _): notJudged += 1; continue
                case (.on, nil), (.off, _?): break
                case (.on(let since, _, let threshold), let current?):
                    guard days(since: since, thresholdHours: threshold, now: subject.asOf) > (current[Condition.days] as Int) else { continue }
                case (.off, nil): continue
                }
                if subject.kind == .deviceOffline { devices.insert(DeviceKey(tenant: subject.tenant, serial: subject.deviceSerial)) }
                else { agents.insert(subject.id) }
            }
            return (devices, agents, notJudged)
        }
        guard !devices.isEmpty || !agents.isEmpty else { return Outcome(notJudged: notJudged) }
        return try await database.write { db in
            let active = try activeConditions(db)
            let judged = try judge(settings: settings, active: active, devices: devices, agents: agents, db: db)
            var outcome = try reconcile(judged, active: active, now: now, db: db, outbox: outbox)
            outcome.notJudged = notJudged
            return outcome
        }
    }

    struct DeviceKey: Hashable { var tenant: String; var serial: String }

    /// Columns of `condition`, by position (name lookups cost when every agent is judged every minute).
    enum Condition { static let id = 0, days = 1, since = 2 }

    static func activeConditions(_ db: Database) throws -> [String: Row] {
        var active: [String: Row] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT id, days, since, tenant, kind, subject_id FROM condition WHERE ended_at IS NULL")) {
            active["\(row[3] as String)|\(row[4] as String)|\(row[5] as String)"] = row
        }
        return active
    }

    /// Every appliance and agent (or only the given ones) with its verdict for each kind.
    static func judge(
        settings: SilenceSettings, active: [String: Row], devices only: Set<DeviceKey>?, agents onlyAgents: Set<String>?, db: Database
    ) throws -> [(Subject, Verdict)] {
        var judged: [(Subject, Verdict)] = []
        let deviceSQL = "SELECT tenant, serial, customer_id, customer_key, customer_name, name, observed_at, hidden, last_seen_at FROM device"
        let deviceRows = try only.map { keys in
            try keys.compactMap { try Row.fetchOne(db.cachedStatement(sql: deviceSQL + " WHERE tenant = ? AND serial = ?"), arguments: [$0.tenant, $0.serial]) }
        } ?? Row.fetchAll(db.cachedStatement(sql: deviceSQL))
        for row in deviceRows {
            let (tenant, serial, customerId): (String, String, String) = (row[0], row[1], row[2])
            let asOf = Date(timeIntervalSince1970: row[6])
            let subject = Subject(
                kind: .deviceOffline, id: StableID.device(tenant: tenant, serial: serial), tenant: tenant, customerId: customerId,
                customer: CustomerRef(key: row[3], name: row[4]), deviceSerial: serial, deviceName: row[5], asOf: asOf)
            judged.append((subject, offline(
                hidden: row[7], lastSeen: (row[8] as Double?).map(Date.init(timeIntervalSince1970:)),
                window: settings.windows(tenant: tenant, customerId: customerId).deviceOfflineHours, asOf: asOf)))
        }

        let agentSQL = """
            SELECT a.id, a.tenant, a.device_serial, a.customer_id, a.customer_key, a.customer_name, a.volume, a.name, a.updated_at,
                a.is_removed, a.is_archived, a.is_paused, a.first_known_at, a.last_snapshot_at, a.latest_offsite_at,
                s.last_success_at, s.last_run_at, d.name, d.back_online_at, d.hidden, d.last_seen_at, d.observed_at
            FROM agent a LEFT JOIN agent_summary s ON s.agent_id = a.id
            LEFT JOIN device d ON d.tenant = a.tenant AND d.serial = a.device_serial
            """
        let agentRows = try onlyAgents.map { ids in
            try ids.compactMap { try Row.fetchOne(db.cachedStatement(sql: agentSQL + " WHERE a.id = ?"), arguments: [$0]) }
        } ?? Row.fetchAll(db.cachedStatement(sql: agentSQL))
        for row in agentRows {
            let (id, tenant, serial, customerId): (String, String, String, String) = (row[0], row[1], row[2], row[3])
            let windows = settings.windows(tenant: tenant, customerId: customerId)
            let observed: Double = row[8]
            let asOf = Date(timeIntervalSince1970: observed)
            func subject(_ kind: Kind) -> Subject {
                Subject(
                    kind: kind, id: id, tenant: tenant, customerId: customerId, customer: CustomerRef(key: row[4], name: row[5]),
                    deviceSerial: serial, deviceName: row[17], agentVolume: row[6], agentName: row[7], asOf: asOf)
            }
            func date(_ index: Int) -> Date? { (row[index] as Double?).map(Date.init(timeIntervalSince1970:)) }
            let ended: String? = (row[9] as Bool) ? "removed" : (row[10] as Bool) ? "archived" : (row[11] as Bool) ? "paused" : nil
            if let ended {
                judged.append((subject(.backupMissed), .off(reason: ended)))
                judged.append((subject(.offsiteStale), .off(reason: ended)))
                continue
            }
            // The appliance being offline is the one problem to report: its agents are not judged while it is (or
            // still counts as) offline, nor after it is back until they are read again.
            let deviceOffline = active["\(tenant)|\(Kind.deviceOffline.rawValue)|\(StableID.device(tenant: tenant, serial: serial))"] != nil
                || (row[21] as Double?).map { deviceAsOf in
                    if case .on = offline(hidden: row[19] ?? false, lastSeen: date(20), window: windows.deviceOfflineHours,
                                          asOf: Date(timeIntervalSince1970: deviceAsOf)) { return true }
                    return false
                } ?? false
            if deviceOffline || observed <= (row[18] as Double?) ?? -.infinity {
                judged.append((subject(.backupMissed), .unknown))
                judged.append((subject(.offsiteStale), .unknown))
                continue
            }
            // Datto's own `lastSnapshot` comes with the agent, so a snapshot whose run is still on its way counts.
            let lastSuccess = [date(15), date(13)].compactMap { $0 }.max()
            let lastRun = [date(16), date(13)].compactMap { $0 }.max()
            judged.append((subject(.backupMissed), missed(
                lastSuccess: lastSuccess, lastRun: lastRun, firstKnown: date(12) ?? asOf, windows: windows, now: asOf)))
            judged.append((subject(.offsiteStale), offsite(latestOffsite: date(14), lastSuccess: lastSuccess, windows: windows, now: asOf)))
        }
        return judged
    }

    /// The appliance's last check-in is older than its threshold, as of when its `lastSeenDate` was read.
    static func offline(hidden: Bool, lastSeen: Date?, window: Double, asOf: Date) -> Verdict {
        if hidden { return .off(reason: "removed") }
        guard window > 0 else { return .off(reason: "check-off") }
        guard let lastSeen else { return .unknown }  // Datto gave no check-in time
        return asOf.timeIntervalSince(lastSeen) > window * 3_600
            ? .on(since: lastSeen, lastGood: lastSeen, thresholdHours: window) : .off(reason: "recovered")
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
            let current = active[subject.key]
            switch verdict {
            case .unknown:
                outcome.notJudged += 1
            case let .on(since, lastGood, threshold):
                let days = days(since: since, thresholdHours: threshold, now: subject.asOf)
                if let current {
                    guard days > (current[Condition.days] as Int) else { continue }
                    try db.cachedStatement(sql: "UPDATE condition SET days = ?, since = ? WHERE id = ?")
                        .execute(arguments: [days, since.timeIntervalSince1970, current[Condition.id] as Int64])
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
                    .execute(arguments: [now.timeIntervalSince1970, reason, current[Condition.id] as Int64])
                if subject.kind == .deviceOffline, reason == "recovered" {
                    // Back: what is stored about its agents predates that; they are judged once read again.
                    try db.cachedStatement(sql: "UPDATE device SET back_online_at = ? WHERE tenant = ? AND serial = ?")
                        .execute(arguments: [now.timeIntervalSince1970, subject.tenant, subject.deviceSerial])
                }
                let since = Date(timeIntervalSince1970: current[Condition.since])
                try publish(subject, .ended, since: since, lastGood: nil, days: current[Condition.days], threshold: 0, outbox: outbox, db: db,
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
