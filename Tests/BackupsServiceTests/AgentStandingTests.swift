import Foundation
import Testing
import VectisAPI
import VectisContracts

@testable import BackupsService

/// What an agent's card says: failing first, then a silent failure in force, then no backups yet, then OK.
@Suite("Agent card standing")
struct AgentStandingTests {
    static let since = Date(timeIntervalSince1970: 1_790_000_000)

    static func condition(_ kind: BackupConditionChanged.Kind, _ headline: String) -> ConditionView {
        ConditionView(type: kind, since: since, days: 2, headline: headline)
    }

    @Test("failing wins over everything and counts its nights")
    func failing() {
        let offline = Self.condition(.deviceOffline, "Appliance offline: last check-in 3 h ago")
        let (state, headline) = HubQueries.standing(hasRun: true, failing: true, failedNights: 2, conditions: [offline])
        #expect(state == .failing)
        #expect(headline == "Currently failing — 2 failed nights in a row")
        #expect(
            HubQueries.standing(hasRun: true, failing: true, failedNights: 1, conditions: []).1
                == "Currently failing — 1 failed night in a row")
        #expect(HubQueries.standing(hasRun: true, failing: true, failedNights: 0, conditions: []).1 == "Currently failing")
    }

    @Test("a silent failure in force is said in its own words: missed before offline before offsite")
    func silent() {
        let offsite = Self.condition(.offsiteStale, "Latest offsite copy is 52 h old")
        let missed = Self.condition(.backupMissed, "No successful backup for 31 h")
        let offline = Self.condition(.deviceOffline, "Appliance offline: last check-in 3 h ago")
        #expect(
            HubQueries.standing(hasRun: true, failing: false, failedNights: 0, conditions: [offsite, offline]) == (
                .deviceOffline, offline.headline
            ))
        #expect(
            HubQueries.standing(hasRun: true, failing: false, failedNights: 0, conditions: [offsite, missed]) == (.missed, missed.headline))
        #expect(
            HubQueries.standing(hasRun: true, failing: false, failedNights: 0, conditions: [offsite]) == (.offsiteStale, offsite.headline))
        // A never-run agent that is silent past its grace says so, not "No backups yet".
        #expect(HubQueries.standing(hasRun: false, failing: false, failedNights: 0, conditions: [missed]).0 == .missed)
    }

    @Test("without runs or conditions: no backups yet; with runs: OK")
    func quiet() {
        #expect(HubQueries.standing(hasRun: false, failing: false, failedNights: 0, conditions: []) == (.noBackupsYet, "No backups yet"))
        #expect(HubQueries.standing(hasRun: true, failing: false, failedNights: 0, conditions: []) == (.ok, "OK"))
        // Failing without any recorded run (a stale flag) is not "failing".
        #expect(HubQueries.standing(hasRun: false, failing: true, failedNights: 3, conditions: []).0 == .noBackupsYet)
    }
}
