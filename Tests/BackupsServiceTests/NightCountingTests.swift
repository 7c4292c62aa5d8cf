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

    /// The summary after `stored` is moved on by one run, as a recorded run moves it (in the database).
    static func advanced(
        _ stored: AgentRunSummary.Stored, runAt: Date, succeeded: Bool, errorMessage: String?, night: String,
        damage: String? = nil
    ) throws -> AgentRunSummary? {
        try withDatabase { db in
            try BackupJobStore.store(stored.summary, agentId: "a_1", lastNight: stored.lastNight, db: db)
            if let damage { try db.execute(sql: "UPDATE agent_summary SET \(damage)") }
            return try AgentRunSummary.Stored.advance(
                agentId: "a_1", runAt: runAt, succeeded: succeeded, errorMessage: errorMessage, night: night, db)
        }
    }

    static func withDatabase<T>(_ body: (Database) throws -> T) throws -> T {
        try withRecording { db, _ in try body(db) }
    }

    /// `body` in a write transaction of a new, migrated backups database, with its outbox (the file is removed after).
    static func withRecording<T>(_ body: (Database, Outbox) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("backups-unit-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try DatabasePool(path: path)
        try BackupsTables.migrator.migrate(database)
        let outbox = try Outbox(stream: "backups/unit", database: database)
        return try database.write { db in try body(db, outbox) }
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
    func streak() throws {
        let stored = Self.stored(nights: 1, lastNight: "2026-11-28", lastRunAt: Self.start)
        let sameNight = try Self.advanced(stored, runAt: Self.start + 600, succeeded: false, errorMessage: "again", night: "2026-11-28")
        #expect(sameNight?.failedNights == 1)
        #expect(sameNight?.lastFailureMessage == "again")
        let nextNight = try Self.advanced(stored, runAt: Self.start + 86_400, succeeded: false, errorMessage: "x", night: "2026-11-29")
        #expect(nextNight?.failedNights == 2)
        #expect(nextNight?.currentlyFailing == true)
        let success = try Self.advanced(stored, runAt: Self.start + 86_400, succeeded: true, errorMessage: nil, night: "2026-11-29")
        #expect(success?.failedNights == 0)
        #expect(success?.currentlyFailing == false)
        #expect(success?.lastSuccessAt == Self.start + 86_400)
        #expect(success?.lastFailureAt == Self.start, "the last failure is kept")
        #expect(success?.lastFailureMessage == "disk full")
    }

    @Test("a run older than the latest, or an agent's first run, sends the summary back to the rows")
    func outOfOrderRecomputes() throws {
        let stored = Self.stored(nights: 2, lastNight: "2026-11-28", lastRunAt: Self.start)
        #expect(try Self.advanced(stored, runAt: Self.start - 1, succeeded: true, errorMessage: nil, night: "2026-11-28") == nil)
        #expect(try Self.advanced(stored, runAt: Self.start, succeeded: true, errorMessage: nil, night: "2026-11-28") == nil)
        #expect(try Self.advanced(stored, runAt: Self.start + 1, succeeded: true, errorMessage: nil, night: "2026-11-27") == nil)
        let empty = AgentRunSummary.Stored(
            summary: AgentRunSummary(currentlyFailing: false, failedNights: 0), lastNight: nil)
        #expect(try Self.advanced(empty, runAt: Self.start, succeeded: false, errorMessage: "x", night: "2026-11-28") == nil)
        // No summary stored at all: the agent's first run.
        #expect(
            try Self.withDatabase { db in
                try AgentRunSummary.Stored.advance(
                    agentId: "a_1", runAt: Self.start, succeeded: true, errorMessage: nil, night: "2026-11-28", db)
            } == nil)
    }

    @Test("after an agent's first run, a later run moves the stored summary on without going back to the rows")
    func inOrderRunAdvances() throws {
        let customer = CustomerRef(key: "org:1", name: "Acme")
        try Self.withRecording { db, outbox in
            let first = BackupRunObserved(
                deviceSerial: "S1", agentVolume: "v1", agentName: "FS01", customer: customer, runAt: Self.start, rawStatus: "failure",
                errorMessage: "disk full", kind: .agent)
            try BackupJobStore.record(
                first, tenant: "default", calendar: Self.utc, at: Self.start, db: db, outbox: outbox, correlationId: nil)
            let agentId = StableID.agent(tenant: "default", deviceSerial: "S1", volume: "v1")
            #expect(
                try String.fetchOne(db, sql: "SELECT name FROM agent WHERE id = ?", arguments: [agentId]) == "FS01",
                "the run made its agent known")
            let next = try AgentRunSummary.Stored.advance(
                agentId: agentId, runAt: Self.start + 86_400, succeeded: false, errorMessage: "still full",
                night: Self.utc.night(of: Self.start + 86_400), db)
            #expect(next?.failedNights == 2)
            #expect(next?.lastFailureMessage == "still full")
        }
    }

    @Test("a streak stored at Int.max (a damaged file) stays there instead of trapping; a negative one counts from zero")
    func streakDoesNotOverflow() throws {
        let stored = Self.stored(nights: .max, lastNight: "2026-11-28", lastRunAt: Self.start)
        let next = try Self.advanced(stored, runAt: Self.start + 86_400, succeeded: false, errorMessage: nil, night: "2026-11-29")
        #expect(next?.failedNights == .max)
        let negative = Self.stored(nights: 0, lastNight: "2026-11-28", lastRunAt: Self.start)
        let after = try Self.advanced(
            negative, runAt: Self.start + 86_400, succeeded: false, errorMessage: nil, night: "2026-11-29", damage: "failed_nights = -5")
        #expect(after?.failedNights == 1)
    }

    @Test("a damaged last run or night sends the summary back to the rows instead of trapping or comparing text with time")
    func damagedSummaryRecomputes() throws {
        let stored = Self.stored(nights: 1, lastNight: "2026-11-28", lastRunAt: Self.start)
        for damage in ["last_run_at = 'yesterday'", "last_run_at = NULL", "last_night = 20261128", "last_night = NULL"] {
            #expect(
                try Self.advanced(
                    stored, runAt: Self.start + 86_400, succeeded: true, errorMessage: nil, night: "2026-11-29", damage: damage)
                    == nil, "\(damage)")
        }
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
        let customer = CustomerRef(key: "org:1", name: "Acme")
        return try Self.withRecording { db, outbox in
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
            let byPosition = try #require(
                try db.cachedStatement(sql: AgentRunSummary.Stored.sql).fetchFirst(arguments: [agentId]) {
                    try AgentRunSummary.Stored(columns: $0)
                })
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

    /// What an agent's night holds after each change, written as plain Swift: the roll-up kept by SQL must say the same.
    struct NightModel {
        var nights: [String: AgentNight] = [:]

        mutating func edit(_ night: String, _ change: (inout AgentNight) -> Void) {
            var row = nights[night] ?? AgentNight(agentId: "a_1", night: night, tenant: "default", customerId: "c_1")
            change(&row)
            nights[night] = row
        }

        mutating func run(_ night: String, at runAt: Date, succeeded: Bool, error: String?) {
            edit(night) { row in
                if succeeded { row.successes += 1 } else { row.failures += 1 }
                if row.lastRunAt.map({ runAt >= $0 }) ?? true {
                    row.lastRunAt = runAt
                    row.lastStatus = succeeded ? .success : .failure
                }
                if !succeeded, row.lastError == nil || row.lastRunAt == runAt { row.lastError = error }
            }
        }
    }

    @Test(
        "runs, pauses and silent nights in any order leave each night and the customer's counts as the plain model says", arguments: 0..<12)
    func nightRollupMatchesModel(seed: Int) throws {
        var generator = SplitMix64(state: UInt64(seed) &+ 1_000)
        let nights = ["2026-11-26", "2026-11-27", "2026-11-28"]
        var model = NightModel()
        try Self.withDatabase { db in
            var times = Set<Int>()
            for _ in 0..<30 {
                let night = nights.randomElement(using: &generator)!
                switch Int.random(in: 0..<10, using: &generator) {
                case 0:
                    try NightRollup.markPaused(agentId: "a_1", tenant: "default", customerId: "c_1", night: night, db)
                    model.edit(night) { $0.paused = true }
                case 1:
                    let silence: AgentNight.Silence = Bool.random(using: &generator) ? .missed : .offline
                    try NightRollup.markSilent(silence, agentId: "a_1", tenant: "default", customerId: "c_1", nights: [night], db)
                    model.edit(night) { if $0.silence != .offline { $0.silence = silence } }
                default:
                    // A run is recorded once: every run has its own time.
                    var minute = Int.random(in: 0..<600, using: &generator)
                    while !times.insert(minute).inserted { minute = (minute + 1) % 600 }
                    let runAt = Self.start + Double(minute * 60)
                    let succeeded = Bool.random(using: &generator)
                    let error = succeeded || Int.random(in: 0..<4, using: &generator) == 0 ? nil : "failed at \(minute)"
                    try NightRollup.recordRun(
                        agentId: "a_1", tenant: "default", customerId: "c_1", night: night, runAt: runAt,
                        status: succeeded ? .success : .failure, errorMessage: error, db)
                    model.run(night, at: runAt, succeeded: succeeded, error: error)
                }
            }
            for night in nights {
                let stored = try NightRollup.fetch(agentId: "a_1", night: night, db)
                #expect(stored == model.nights[night], "night \(night)")
                let counts = try Row.fetchOne(
                    db, sql: "SELECT expected, succeeded FROM customer_night WHERE customer_id = 'c_1' AND night = ?", arguments: [night])
                let expected = model.nights[night]?.expected == true ? 1 : 0
                let succeeded = model.nights[night]?.succeeded == true ? 1 : 0
                #expect((counts?["expected"] ?? 0) == expected, "expected agent-nights, \(night)")
                #expect((counts?["succeeded"] ?? 0) == succeeded, "succeeded agent-nights, \(night)")
            }
        }
    }
}
