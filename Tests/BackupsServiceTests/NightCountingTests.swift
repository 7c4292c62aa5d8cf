import Foundation
import GRDB
import Testing
import VectisContracts
import VectisDelivery
import VectisTestSupport

@testable import BackupsService

/// Failed nights in a row, as the summary keeps them run by run and as the rows say when recomputed.
@Suite("Night counting")
struct NightCountingTests {
    static let utc = NightCalendar()
    static let start = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21 14:13 UTC

    static func stored(nights: Int, lastNight: String, lastRunAt: Date, failing: Bool = true) -> AgentRunSummary.Stored {
        AgentRunSummary.Stored(
            summary: AgentRunSummary(
                lastRunAt: lastRunAt, lastSuccessAt: nil, lastFailureAt: failing ? lastRunAt : nil, lastFailureMessage: "disk full",
                currentlyFailing: failing, failedNights: nights),
            lastNight: lastNight)
    }

    @Test("a night runs from noon to noon: a 23:00 and a 01:00 run are one night, 13:00 the next")
    func nightBoundary() throws {
        let calendar = Self.utc
        let evening = try Date("2026-11-28T23:00:00Z", strategy: .iso8601)
        let morning = try Date("2026-11-29T01:00:00Z", strategy: .iso8601)
        let afternoon = try Date("2026-11-29T13:00:00Z", strategy: .iso8601)
        #expect(calendar.night(of: evening) == "2026-11-28")
        #expect(calendar.night(of: morning) == "2026-11-28")
        #expect(calendar.night(of: afternoon) == "2026-11-29")
        // In Berlin (UTC+1 in November) 11:30 UTC is already 12:30 local: the next night.
        let berlin = NightCalendar(timeZone: TimeZone(identifier: "Europe/Berlin")!, boundaryHour: 12)
        #expect(berlin.night(of: try Date("2026-11-29T11:30:00Z", strategy: .iso8601)) == "2026-11-29")
    }

    @Test("a failure in a new night adds one; another in the same night adds nothing; a success ends the streak")
    func streak() {
        let stored = Self.stored(nights: 1, lastNight: "2026-11-28", lastRunAt: Self.start)
        let sameNight = stored.advanced(runAt: Self.start + 600, succeeded: false, errorMessage: "again", night: "2026-11-28")
        #expect(sameNight?.failedNights == 1)
        #expect(sameNight?.lastFailureMessage == "again")
        let nextNight = stored.advanced(runAt: Self.start + 86_400, succeeded: false, errorMessage: "x", night: "2026-11-29")
        #expect(nextNight?.failedNights == 2)
        #expect(nextNight?.currentlyFailing == true)
        let success = stored.advanced(runAt: Self.start + 86_400, succeeded: true, errorMessage: nil, night: "2026-11-29")
        #expect(success?.failedNights == 0)
        #expect(success?.currentlyFailing == false)
        #expect(success?.lastSuccessAt == Self.start + 86_400)
        #expect(success?.lastFailureAt == Self.start, "the last failure is kept")
        #expect(success?.lastFailureMessage == "disk full")
    }

    @Test("a run older than the latest, or an agent's first run, sends the summary back to the rows")
    func outOfOrderRecomputes() {
        let stored = Self.stored(nights: 2, lastNight: "2026-11-28", lastRunAt: Self.start)
        #expect(stored.advanced(runAt: Self.start - 1, succeeded: true, errorMessage: nil, night: "2026-11-28") == nil)
        #expect(stored.advanced(runAt: Self.start + 1, succeeded: true, errorMessage: nil, night: "2026-11-27") == nil)
        let empty = AgentRunSummary.Stored(
            summary: AgentRunSummary(currentlyFailing: false, failedNights: 0), lastNight: nil)
        #expect(empty.advanced(runAt: Self.start, succeeded: false, errorMessage: "x", night: "2026-11-28") == nil)
    }

    @Test("a streak stored at Int.max (a damaged file) stays there instead of trapping")
    func streakDoesNotOverflow() {
        let stored = Self.stored(nights: .max, lastNight: "2026-11-28", lastRunAt: Self.start)
        #expect(stored.advanced(runAt: Self.start + 86_400, succeeded: false, errorMessage: nil, night: "2026-11-29")?.failedNights == .max)
    }

    @Test("failed nights in a row stop at the latest night with a success")
    func fromRows() {
        #expect(AgentRunSummary.failedNightsInARow(latestFirst: []) == 0)
        #expect(AgentRunSummary.failedNightsInARow(latestFirst: [false, false, true, false]) == 2)
        #expect(AgentRunSummary.failedNightsInARow(latestFirst: [true, false]) == 0)
    }

    /// Runs recorded in any arrival order leave the same summary as in time order: the fast path and the
    /// recompute agree.
    @Test("the summary is the same whatever order the runs arrive in", arguments: 0..<8)
    func arrivalOrder(seed: Int) throws {
        // Nights 1–2 fail, night 3 succeeds, nights 4–6 fail (two runs in night 5).
        let plan: [(hours: Double, succeeded: Bool)] = [
            (0, false), (24, false), (48, true), (72, false), (96, false), (97, false), (120, false)
        ]
        var generator = SplitMix64(state: UInt64(seed))
        let ordered = try Self.summary(after: plan)
        let shuffled = try Self.summary(after: seed == 0 ? plan.reversed() : plan.shuffled(using: &generator))
        #expect(ordered.failedNights == 3)
        #expect(shuffled == ordered)
    }

    static func summary(after plan: [(hours: Double, succeeded: Bool)]) throws -> AgentRunSummary {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("backups-unit-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try DatabasePool(path: path)
        try BackupsTables.migrator.migrate(database)
        let outbox = try Outbox(stream: "backups/unit", database: database)
        let customer = CustomerRef(key: "org:1", name: "Acme")
        return try database.write { db in
            var last: BackupJobRecorded?
            for step in plan {
                let run = BackupRunObserved(
                    deviceSerial: "S1", agentVolume: "v1", agentName: "FS01", customer: customer,
                    runAt: Self.start + step.hours * 3_600, rawStatus: step.succeeded ? "success" : "failure",
                    errorMessage: step.succeeded ? nil : "failed at \(step.hours)")
                last =
                    try BackupJobStore.record(
                        run, tenant: "default", calendar: Self.utc, at: Self.start, db: db, outbox: outbox, correlationId: nil) ?? last
            }
            let agentId = StableID.agent(tenant: "default", deviceSerial: "S1", volume: "v1")
            // Read by position (as each recorded run reads it) and through GRDB's Row: the same summary, and the same night.
            let byRow = try #require(try AgentRunSummary.Stored.fetchOne(db, sql: AgentRunSummary.Stored.sql, arguments: [agentId]))
            let byPosition = try #require(try AgentRunSummary.Stored.fetch(agentId: agentId, db))
            #expect(byPosition.summary == byRow.summary && byPosition.lastNight == byRow.lastNight)
            let night = try #require(byRow.lastNight)
            let rollup = try #require(try NightRollup.fetch(agentId: agentId, night: night, db))
            #expect(
                try AgentNight.fetchOne(
                    db, sql: "SELECT \(AgentNight.columns) FROM agent_night WHERE agent_id = ? AND night = ?", arguments: [agentId, night])
                    == rollup)
            return byRow.summary
        }
    }
}
