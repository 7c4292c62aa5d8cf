import Foundation
import GRDB
import Testing
import VectisContracts

@testable import BackupsService

/// What the silence check concludes from what is stored: the pure verdicts, then `judge` over an in-memory database.
@Suite("Silence verdicts")
struct SilenceVerdictTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)
    static let windows = SilenceWindows(missedBackupHours: 26, deviceOfflineHours: 1, offsiteStaleHours: 48, newAgentGraceHours: 48)

    static func hoursAgo(_ hours: Double) -> Date { now - hours * 3_600 }

    @Test("screenshot: a failed latest verification, none for 7 days of good backups, verified, never verified")
    func screenshot() {
        let w = Self.windows
        func verdict(_ attempt: Date?, _ ok: Bool?, success: Date?, failingSince: Date? = nil, lastBackup: Date?) -> SilenceCheck.Verdict {
            SilenceCheck.screenshot(
                lastAttempt: attempt, succeeded: ok, lastSuccess: success, failingSince: failingSince, lastBackup: lastBackup, windows: w,
                now: Self.now)
        }
        let failed = verdict(
            Self.hoursAgo(2), false, success: Self.hoursAgo(26), failingSince: Self.hoursAgo(2), lastBackup: Self.hoursAgo(3))
        guard case .on(let since, let lastGood, 0, nil, let detail?) = failed else {
            Issue.record("\(failed)")
            return
        }
        #expect(
            since == Self.hoursAgo(2) && lastGood == Self.hoursAgo(26) && detail == "Screenshot verification failed; last success 26 h ago")
        #expect(verdict(Self.hoursAgo(2), true, success: Self.hoursAgo(2), lastBackup: Self.hoursAgo(3)) == .off(.recovered))
        #expect(verdict(nil, nil, success: nil, lastBackup: Self.hoursAgo(3)) == .off(.checkOff), "never verified: not judged")
        // Backups succeed for 8 days with no verification since: on; backups that stopped are another alert's story.
        guard case .on = verdict(Self.hoursAgo(200), true, success: Self.hoursAgo(200), lastBackup: Self.hoursAgo(2)) else {
            Issue.record("verification stopped while backups go on")
            return
        }
        #expect(verdict(Self.hoursAgo(200), true, success: Self.hoursAgo(200), lastBackup: Self.hoursAgo(199)) == .off(.recovered))
        var off = w
        off.screenshotMaxAgeHours = 0
        #expect(
            SilenceCheck.screenshot(
                lastAttempt: Self.hoursAgo(200), succeeded: true, lastSuccess: Self.hoursAgo(200), failingSince: nil,
                lastBackup: Self.hoursAgo(2), windows: off, now: Self.now) == .off(.recovered))
    }

    @Test("storage: under the threshold, medium from 85%, high from 95%, no data, hidden, check off")
    func storage() {
        func verdict(_ used: Int64?, _ available: Int64?, hidden: Bool = false, windows: SilenceWindows = Self.windows)
            -> SilenceCheck.Verdict
        {
            SilenceCheck.storage(
                hidden: hidden, used: used, available: available, fullAt: nil, windows: windows, since: Self.hoursAgo(5), asOf: Self.now)
        }
        #expect(verdict(80, 20) == .off(.recovered))
        guard case .on(let since, nil, 0, .medium?, let detail?) = verdict(86_000_000_000_000, 14_000_000_000_000) else {
            Issue.record("86%")
            return
        }
        #expect(since == Self.hoursAgo(5) && detail == "Appliance storage 86% used (86 TB of 100 TB); not filling up")
        #expect(SilenceText.bytes(4_150_000_000_000) == "4.2 TB" && SilenceText.bytes(950e9) == "950 GB" && SilenceText.bytes(12) == "12 B")
        guard case .on(_, _, _, .high?, _) = verdict(96, 4) else {
            Issue.record("96%")
            return
        }
        #expect(verdict(nil, 4) == .off(.checkOff))
        #expect(verdict(0, 0) == .off(.checkOff))
        #expect(verdict(96, 4, hidden: true) == .off(.removed))
        var off = Self.windows
        off.storageWarnPercent = 0
        #expect(verdict(99, 1, windows: off) == .off(.checkOff))
    }

    @Test("missed backup: within the window, quiet past it, failing past it, never backed up")
    func missed() {
        let w = Self.windows
        #expect(
            SilenceCheck.missed(
                lastSuccess: Self.hoursAgo(20), lastRun: Self.hoursAgo(20), firstKnown: Self.hoursAgo(500), windows: w, now: Self.now)
                == .off(.recovered))
        #expect(
            SilenceCheck.missed(
                lastSuccess: Self.hoursAgo(30), lastRun: Self.hoursAgo(30), firstKnown: Self.hoursAgo(500), windows: w, now: Self.now)
                == .on(since: Self.hoursAgo(30), lastGood: Self.hoursAgo(30), thresholdHours: 26))
        // Failed runs keep arriving: that is the failure alert's story, not silence.
        #expect(
            SilenceCheck.missed(
                lastSuccess: Self.hoursAgo(30), lastRun: Self.hoursAgo(2), firstKnown: Self.hoursAgo(500), windows: w, now: Self.now)
                == .off(.superseded))
        // Never backed up: a grace period from when it became known, then counted from then.
        #expect(
            SilenceCheck.missed(lastSuccess: nil, lastRun: nil, firstKnown: Self.hoursAgo(40), windows: w, now: Self.now)
                == .off(.recovered))
        #expect(
            SilenceCheck.missed(lastSuccess: nil, lastRun: nil, firstKnown: Self.hoursAgo(50), windows: w, now: Self.now)
                == .on(since: Self.hoursAgo(50), lastGood: nil, thresholdHours: 48))
        var off = w
        off.missedBackupHours = 0
        #expect(
            SilenceCheck.missed(lastSuccess: nil, lastRun: nil, firstKnown: Self.hoursAgo(500), windows: off, now: Self.now)
                == .off(.checkOff))
    }

    @Test("appliance offline: hidden, no check-in time, late, on time")
    func offline() {
        #expect(SilenceCheck.offline(hidden: true, lastSeen: Self.hoursAgo(9), window: 1, asOf: Self.now) == .off(.removed))
        #expect(SilenceCheck.offline(hidden: false, lastSeen: nil, window: 1, asOf: Self.now) == .unknown)
        #expect(
            SilenceCheck.offline(hidden: false, lastSeen: Self.hoursAgo(2), window: 1, asOf: Self.now)
                == .on(since: Self.hoursAgo(2), lastGood: Self.hoursAgo(2), thresholdHours: 1))
        #expect(SilenceCheck.offline(hidden: false, lastSeen: Self.hoursAgo(0.5), window: 1, asOf: Self.now) == .off(.recovered))
        #expect(SilenceCheck.offline(hidden: false, lastSeen: Self.hoursAgo(2), window: 0, asOf: Self.now) == .off(.checkOff))
    }

    @Test("offsite stale only while newer local backups wait, never for a local-only agent")
    func offsite() {
        let w = Self.windows
        #expect(SilenceCheck.offsite(latestOffsite: nil, lastSuccess: Self.hoursAgo(1), windows: w, now: Self.now) == .off(.checkOff))
        #expect(
            SilenceCheck.offsite(latestOffsite: Self.hoursAgo(60), lastSuccess: Self.hoursAgo(1), windows: w, now: Self.now)
                == .on(since: Self.hoursAgo(60), lastGood: Self.hoursAgo(60), thresholdHours: 48))
        // Nothing newer to send (the agent stopped backing up): backup-missed tells that story.
        #expect(
            SilenceCheck.offsite(latestOffsite: Self.hoursAgo(60), lastSuccess: Self.hoursAgo(70), windows: w, now: Self.now)
                == .off(.recovered))
    }

    @Test("days count the day a condition started: 1 when raised, 2 a day later")
    func days() {
        #expect(SilenceCheck.days(since: Self.hoursAgo(27), thresholdHours: 26, now: Self.now) == 1)
        #expect(SilenceCheck.days(since: Self.hoursAgo(26 + 24), thresholdHours: 26, now: Self.now) == 2)
        #expect(SilenceCheck.days(since: Self.now + 3_600, thresholdHours: 26, now: Self.now) == 1, "never below 1")
    }

    @Test("judge: an offline appliance's agents are not judged; paused and removed agents are out; a silent one is on")
    func judgeFromStorage() throws {
        let database = try DatabaseQueue()
        try BackupsTables.migrator.migrate(database)
        let customer = CustomerRef(key: "org:7", name: "Northwind")
        let settings = SilenceSettings(standard: Self.windows)
        try database.write { db in
            let known = Self.hoursAgo(500)
            try BackupJobStore.apply(
                DattoDeviceSeen(
                    serialNumber: "ON1", name: "Office", customer: customer, lastSeenAt: Self.hoursAgo(0.1), assetVolumes: ["quiet", "held"]
                ),
                tenant: "default", at: Self.now, db: db)
            try BackupJobStore.apply(
                DattoDeviceSeen(
                    serialNumber: "OFF1", name: "Branch", customer: customer, lastSeenAt: Self.hoursAgo(5), assetVolumes: ["far"]),
                tenant: "default", at: Self.now, db: db)
            for (serial, volume, paused) in [("ON1", "quiet", false), ("ON1", "held", true), ("OFF1", "far", false)] {
                try BackupJobStore.apply(
                    DattoAgentSeen(
                        deviceSerial: serial, customer: customer, volume: volume, name: volume.uppercased(), isPaused: paused,
                        lastSnapshotAt: Self.hoursAgo(40)),
                    tenant: "default", calendar: NightCalendar(), at: known, db: db)
            }
            // The collector reported the agents now (their as-of time), having known them for 500 h.
            try db.execute(sql: "UPDATE agent SET updated_at = ?", arguments: [Self.now.timeIntervalSince1970])
        }
        let verdicts = try database.read { db in
            try SilenceCheck.judge(settings: settings, active: SilenceCheck.activeConditions(db), devices: nil, agents: nil, db: db)
        }
        func verdict(_ kind: SilenceCheck.Kind, _ name: String) -> SilenceCheck.Verdict? {
            verdicts.first { $0.0.kind == kind && ($0.0.agentName ?? $0.0.deviceName) == name }?.1
        }
        #expect(verdict(.deviceOffline, "Branch") == .on(since: Self.hoursAgo(5), lastGood: Self.hoursAgo(5), thresholdHours: 1))
        #expect(verdict(.deviceOffline, "Office") == .off(.recovered))
        #expect(verdict(.backupMissed, "FAR") == .unknown, "the appliance being offline is the one problem reported")
        #expect(verdict(.backupMissed, "HELD") == .off(.paused))
        #expect(verdict(.backupMissed, "QUIET") == .on(since: Self.hoursAgo(40), lastGood: Self.hoursAgo(40), thresholdHours: 26))
        // Per appliance: offline and storage; per agent: missed, offsite and screenshot.
        #expect(verdicts.count == 2 * 2 + 3 * 3)
        #expect(verdict(.applianceStorage, "Branch") == .unknown, "an offline appliance's storage is not judged")
        #expect(verdict(.applianceStorage, "Office") == .off(.checkOff), "no storage reported")
        #expect(verdict(.screenshotFailed, "QUIET") == .off(.checkOff), "never verified")
    }
}
