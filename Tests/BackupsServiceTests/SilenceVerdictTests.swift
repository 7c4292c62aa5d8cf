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
                    tenant: "default", at: known, db: db)
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
        #expect(verdicts.count == 2 + 3 * 2)
    }
}
