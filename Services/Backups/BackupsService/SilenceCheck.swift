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

    typealias EndReason = BackupConditionChanged.EndReason

    enum Verdict: Equatable {
        /// The condition holds: it has lasted since `since` (the last good thing, or when the agent became known).
        /// `severity` and `detail` where the check says more than the kind does (appliance storage).
        case on(since: Date, lastGood: Date?, thresholdHours: Double, severity: AlertSeverity? = nil, detail: String? = nil)
        case off(EndReason)
        /// Nothing can be said (the appliance is offline, or just back and its agents not read since): keep what stands.
        case unknown

        var isOn: Bool { if case .on = self { true } else { false } }
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
                case (.unknown, _):
                    notJudged += 1
                    continue
                case (.on, nil), (.off, _?): break
                case (.on(let since, _, let threshold, let severity, _), let current?):
                    guard days(since: since, thresholdHours: threshold, now: subject.asOf) > current.days || severity != current.severity
                    else { continue }
                case (.off, nil): continue
                }
                if subject.agentVolume == nil {
                    devices.insert(DeviceKey(tenant: subject.tenant, serial: subject.deviceSerial))
                } else {
                    agents.insert(subject.id)
                }
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

    struct DeviceKey: Hashable {
        var tenant: String
        var serial: String
    }

    static func activeConditions(_ db: Database) throws -> [String: ActiveCondition] {
        var active: [String: ActiveCondition] = [:]
        for condition in try ActiveCondition.fetchAll(db.cachedStatement(sql: ActiveCondition.sql)) {
            active[condition.key] = condition
        }
        return active
    }

    /// Every appliance and agent (or only the given ones) with its verdict for each kind.
    static func judge(
        settings: SilenceSettings, active: [String: ActiveCondition], devices only: Set<DeviceKey>?, agents onlyAgents: Set<String>?,
        db: Database
    ) throws -> [(Subject, Verdict)] {
        let devices =
            try only.map { keys in
                try keys.compactMap {
                    try DeviceStanding.fetchOne(
                        db.cachedStatement(sql: DeviceStanding.sql + " WHERE tenant = ? AND serial = ?"), arguments: [$0.tenant, $0.serial])
                }
            } ?? DeviceStanding.fetchAll(db.cachedStatement(sql: DeviceStanding.sql))
        let agents =
            try onlyAgents.map { ids in
                try ids.compactMap {
                    try AgentStanding.fetchOne(db.cachedStatement(sql: AgentStanding.sql + " WHERE a.id = ?"), arguments: [$0])
                }
            } ?? AgentStanding.fetchAll(db.cachedStatement(sql: AgentStanding.sql))
        return devices.flatMap { judge($0, settings: settings, active: active) }
            + agents.flatMap { judge($0, settings: settings, active: active) }
    }

    /// An appliance's verdicts: offline, and (when it is not) its local storage.
    static func judge(_ device: DeviceStanding, settings: SilenceSettings, active: [String: ActiveCondition]) -> [(Subject, Verdict)] {
        let subject = Subject(
            kind: .deviceOffline, id: StableID.device(tenant: device.tenant, serial: device.serial), tenant: device.tenant,
            customerId: device.customerId, customer: device.customer, deviceSerial: device.serial, deviceName: device.name,
            asOf: device.observedAt)
        let windows = settings.windows(tenant: device.tenant, customerId: device.customerId)
        let offlineVerdict = offline(
            hidden: device.hidden, lastSeen: device.lastSeenAt, window: windows.deviceOfflineHours, asOf: device.observedAt)
        var storageSubject = subject
        storageSubject.kind = .applianceStorage
        let since = active[storageSubject.key]?.since ?? device.observedAt
        let storageVerdict: Verdict =
            offlineVerdict.isOn
            ? .unknown
            : storage(
                hidden: device.hidden, used: device.storageUsedBytes, available: device.storageAvailableBytes,
                fullAt: device.storageFullAt, windows: windows, since: since, asOf: device.observedAt)
        return [(subject, offlineVerdict), (storageSubject, storageVerdict)]
    }

    /// A protected agent's verdicts: backups missed, offsite copies stale, screenshot verification failing.
    static func judge(_ agent: AgentStanding, settings: SilenceSettings, active: [String: ActiveCondition]) -> [(Subject, Verdict)] {
        let windows = settings.windows(tenant: agent.tenant, customerId: agent.customerId)
        let asOf = agent.observedAt
        func subject(_ kind: Kind) -> Subject {
            Subject(
                kind: kind, id: agent.id, tenant: agent.tenant, customerId: agent.customerId, customer: agent.customer,
                deviceSerial: agent.deviceSerial, deviceName: agent.deviceName, agentVolume: agent.volume, agentName: agent.name,
                asOf: asOf)
        }
        if let retired = agent.retired {
            return [
                (subject(.backupMissed), .off(retired)), (subject(.offsiteStale), .off(retired)),
                (subject(.screenshotFailed), .off(retired))
            ]
        }
        // The appliance being offline is the one problem to report: its agents are not judged while it is (or
        // still counts as) offline, nor after it is back until they are read again.
        let deviceKey =
            "\(agent.tenant)|\(Kind.deviceOffline.rawValue)|\(StableID.device(tenant: agent.tenant, serial: agent.deviceSerial))"
        let deviceOffline =
            active[deviceKey] != nil
            || agent.deviceObservedAt.map { deviceAsOf in
                offline(
                    hidden: agent.deviceHidden ?? false, lastSeen: agent.deviceLastSeenAt, window: windows.deviceOfflineHours,
                    asOf: deviceAsOf
                ).isOn
            } ?? false
        if deviceOffline || asOf <= agent.deviceBackOnlineAt ?? .distantPast {
            return [(subject(.backupMissed), .unknown), (subject(.offsiteStale), .unknown), (subject(.screenshotFailed), .unknown)]
        }
        // Datto's own `lastSnapshot` comes with the agent, so a snapshot whose run is still on its way counts.
        let lastSuccess = [agent.lastSuccessAt, agent.lastSnapshotAt].compactMap { $0 }.max()
        let lastRun = [agent.lastRunAt, agent.lastSnapshotAt].compactMap { $0 }.max()
        return [
            (
                subject(.backupMissed),
                missed(lastSuccess: lastSuccess, lastRun: lastRun, firstKnown: agent.firstKnownAt ?? asOf, windows: windows, now: asOf)
            ),
            (subject(.offsiteStale), offsite(latestOffsite: agent.latestOffsiteAt, lastSuccess: lastSuccess, windows: windows, now: asOf)),
            (
                subject(.screenshotFailed),
                screenshot(
                    lastAttempt: agent.screenshotAt, succeeded: agent.screenshotOK, lastSuccess: agent.screenshotSuccessAt,
                    failingSince: agent.screenshotFailingSince, lastBackup: lastSuccess, windows: windows, now: asOf)
            )
        ]
    }

    /// The latest screenshot verification failed — the backup would not boot — or, where configured, none succeeded
    /// for `screenshotMaxAgeHours` of successful backups (backups that stopped or fail are another alert's story).
    /// Never judged for an agent that has never been verified (no attempt at all).
    static func screenshot(
        lastAttempt: Date?, succeeded: Bool?, lastSuccess: Date?, failingSince: Date?, lastBackup: Date?, windows: SilenceWindows, now: Date
    ) -> Verdict {
        guard lastAttempt != nil, let succeeded else { return .off(.checkOff) }
        if !succeeded {
            let since = failingSince ?? lastAttempt ?? now
            return .on(
                since: since, lastGood: lastSuccess, thresholdHours: 0,
                detail: "Screenshot verification failed"
                    + (lastSuccess.map { "; last success \(SilenceText.duration(now.timeIntervalSince($0))) ago" } ?? "; none succeeded yet")
            )
        }
        let maxAge = windows.screenshotMaxAgeHours * 3_600
        if maxAge > 0, let lastSuccess, let lastBackup, lastBackup.timeIntervalSince(lastSuccess) > maxAge {
            return .on(
                since: lastSuccess, lastGood: lastSuccess, thresholdHours: windows.screenshotMaxAgeHours,
                detail: "No successful screenshot verification for \(SilenceText.duration(now.timeIntervalSince(lastSuccess)))")
        }
        return .off(.recovered)
    }

    /// Local storage at or over the warning percentage (high from the second), with the days-to-full projection.
    static func storage(
        hidden: Bool, used: Int64?, available: Int64?, fullAt: Date?, windows: SilenceWindows, since: Date, asOf: Date
    ) -> Verdict {
        if hidden { return .off(.removed) }
        guard windows.storageWarnPercent > 0 else { return .off(.checkOff) }
        guard let used, let available else { return .off(.checkOff) }
        let capacity = Double(used) + Double(available)
        guard capacity > 0 else { return .off(.checkOff) }
        let percent = Double(used) / capacity * 100
        guard percent >= windows.storageWarnPercent else { return .off(.recovered) }
        let high = windows.storageHighPercent > 0 && percent >= windows.storageHighPercent
        let detail =
            "Appliance storage \(Int(percent.rounded(.down)))% used (\(SilenceText.bytes(Double(used))) of \(SilenceText.bytes(capacity))); "
            + ApplianceHealth.projectionText(fullAt: fullAt, now: asOf)
        return .on(since: since, lastGood: nil, thresholdHours: 0, severity: high ? .high : .medium, detail: detail)
    }

    /// The appliance's last check-in is older than its threshold, as of when its `lastSeenDate` was read.
    static func offline(hidden: Bool, lastSeen: Date?, window: Double, asOf: Date) -> Verdict {
        if hidden { return .off(.removed) }
        guard window > 0 else { return .off(.checkOff) }
        guard let lastSeen else { return .unknown }  // Datto gave no check-in time
        return asOf.timeIntervalSince(lastSeen) > window * 3_600
            ? .on(since: lastSeen, lastGood: lastSeen, thresholdHours: window) : .off(.recovered)
    }

    /// No successful run within the window — and no failed one either: runs that arrive and fail are the
    /// `backup-job-failure` alert's story, so a failing agent does not also count as silent.
    static func missed(lastSuccess: Date?, lastRun: Date?, firstKnown: Date, windows: SilenceWindows, now: Date) -> Verdict {
        let window = windows.missedBackupHours * 3_600
        guard window > 0 else { return .off(.checkOff) }
        let quietSinceLastRun = lastRun.map { now.timeIntervalSince($0) > window } ?? true
        if let lastSuccess {
            if now.timeIntervalSince(lastSuccess) <= window { return .off(.recovered) }
            return quietSinceLastRun
                ? .on(since: lastSuccess, lastGood: lastSuccess, thresholdHours: windows.missedBackupHours)
                : .off(.superseded)
        }
        if lastRun == nil {
            // Never backed up: expected within the grace period of becoming known.
            let grace = windows.newAgentGraceHours * 3_600
            return grace > 0 && now.timeIntervalSince(firstKnown) > grace
                ? .on(since: firstKnown, lastGood: nil, thresholdHours: windows.newAgentGraceHours) : .off(.recovered)
        }
        return quietSinceLastRun ? .on(since: firstKnown, lastGood: nil, thresholdHours: windows.missedBackupHours) : .off(.superseded)
    }

    /// The latest offsite point is older than the threshold while newer local backups wait to be replicated (an
    /// agent that stopped backing up has nothing to send: that is `backup-missed`). Never judged for an agent
    /// that has no offsite point at all (a local-only plan).
    static func offsite(latestOffsite: Date?, lastSuccess: Date?, windows: SilenceWindows, now: Date) -> Verdict {
        let window = windows.offsiteStaleHours * 3_600
        guard window > 0, let latestOffsite else { return .off(.checkOff) }
        let behind = (lastSuccess ?? .distantPast) > latestOffsite
        return behind && now.timeIntervalSince(latestOffsite) > window
            ? .on(since: latestOffsite, lastGood: latestOffsite, thresholdHours: windows.offsiteStaleHours) : .off(.recovered)
    }

    /// Whole days a condition has lasted, counting the day it started: 1 when raised, 2 a day later…
    static func days(since: Date, thresholdHours: Double, now: Date) -> Int {
        max(1, 1 + Int(((now.timeIntervalSince(since) - thresholdHours * 3_600) / 86_400).rounded(.down)))
    }

    private static func reconcile(
        _ judged: [(Subject, Verdict)], active: [String: ActiveCondition], now: Date, db: Database, outbox: Outbox
    ) throws -> Outcome {
        var outcome = Outcome()
        for (subject, verdict) in judged {
            let current = active[subject.key]
            switch verdict {
            case .unknown:
                outcome.notJudged += 1
            case .on(let since, let lastGood, let threshold, let severity, let detail):
                let days = days(since: since, thresholdHours: threshold, now: subject.asOf)
                if let current {
                    guard days > current.days || severity != current.severity else { continue }
                    try ActiveCondition.lasted(current.id, days: days, since: since, severity: severity, detail: detail, db)
                    try publish(
                        subject, .continued, since: since, lastGood: lastGood, days: days, threshold: threshold, outbox: outbox, db: db,
                        severity: severity, detail: detail)
                    outcome.continued += 1
                } else {
                    try ActiveCondition.start(subject, since: since, days: days, severity: severity, detail: detail, at: now, db)
                    try publish(
                        subject, .started, since: since, lastGood: lastGood, days: days, threshold: threshold, outbox: outbox, db: db,
                        severity: severity, detail: detail)
                    outcome.started += 1
                }
            case .off(let reason):
                guard let current else { continue }
                try ActiveCondition.end(current.id, reason: reason, at: now, db)
                if subject.kind == .deviceOffline, reason == .recovered {
                    // Back: what is stored about its agents predates that; they are judged once read again.
                    try DeviceStanding.markBackOnline(tenant: subject.tenant, serial: subject.deviceSerial, at: now, db)
                }
                try publish(
                    subject, .ended, since: current.since, lastGood: nil, days: current.days, threshold: 0, outbox: outbox, db: db,
                    endReason: reason)
                outcome.ended += 1
            }
        }
        return outcome
    }

    private static func publish(
        _ subject: Subject, _ change: BackupConditionChanged.Change, since: Date, lastGood: Date?, days: Int, threshold: Double,
        outbox: Outbox, db: Database, endReason: EndReason? = nil, severity: AlertSeverity? = nil, detail: String? = nil
    ) throws {
        let detail =
            endReason.map { SilenceText.ended(subject.kind, reason: $0) }
            ?? detail
            ?? SilenceText.headline(
                subject.kind, since: since, neverBackedUp: subject.kind == .backupMissed && lastGood == nil, now: subject.asOf)
        try outbox.append(
            BackupConditionChanged(
                kind: subject.kind, change: change, customer: subject.customer, deviceSerial: subject.deviceSerial,
                deviceName: subject.deviceName, agentVolume: subject.agentVolume, agentName: subject.agentName, lastGoodAt: lastGood,
                since: since, days: days, thresholdHours: threshold, detail: detail, observedAt: subject.asOf, endReason: endReason,
                severity: severity),
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

    /// "4.1 TB", "950 GB", "12 MB" (decimal units, as Datto and disk vendors count).
    static func bytes(_ count: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB", "PB"]
        var value = max(0, count)
        var unit = 0
        while value >= 1_000 && unit < units.count - 1 {
            value /= 1_000
            unit += 1
        }
        guard value.isFinite else { return "? B" }
        let rounded = value >= 100 || unit == 0 ? value.rounded() : (value * 10).rounded() / 10
        return (rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) + " " + units[unit]
    }

    static func headline(_ kind: BackupConditionChanged.Kind, since: Date, neverBackedUp: Bool, now: Date) -> String {
        let age = duration(now.timeIntervalSince(since))
        switch kind {
        case .backupMissed: return neverBackedUp ? "No backup yet, \(age) after it was added" : "No successful backup for \(age)"
        case .deviceOffline: return "Appliance offline: last check-in \(age) ago"
        case .offsiteStale: return "Latest offsite copy is \(age) old"
        case .screenshotFailed: return "Screenshot verification failing for \(age)"
        case .applianceStorage: return "Appliance storage filling up"
        }
    }

    static func ended(_ kind: BackupConditionChanged.Kind, reason: BackupConditionChanged.EndReason) -> String {
        switch (kind, reason) {
        case (.backupMissed, .recovered): return "Backing up again: a successful backup arrived"
        case (.backupMissed, .superseded): return "Runs arrive again, but they fail: see the backup-job-failure alert"
        case (.deviceOffline, .recovered): return "The appliance checked in again"
        case (.offsiteStale, .recovered): return "Offsite replication caught up"
        case (.screenshotFailed, .recovered): return "Screenshot verification succeeded again"
        case (.applianceStorage, .recovered): return "Appliance storage is below its threshold again"
        case (_, .removed): return "No longer listed by Datto"
        case (_, .paused): return "Backups of this agent are paused"
        case (_, .archived): return "The agent is archived"
        case (_, .recovered), (_, .superseded), (_, .checkOff): return "The check is off for this customer"
        }
    }
}
