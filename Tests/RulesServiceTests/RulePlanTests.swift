import Foundation
import GRDB
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

@testable import RulesService

/// What a rule decides about a problem, before any storage or PSA: the threshold, one note per night, retries,
/// recovery and the ticket it leaves to people.
@Suite("Rule decisions")
struct RulePlanTests {
    static let customer = CustomerRef(key: "org:1", name: "Acme")

    static func failure(nights: Int, night: String = "2026-11-20", currentlyFailing: Bool? = true) -> RuleProblem {
        RuleProblem(
            BackupJobRecorded(
                jobId: 7, deviceSerial: "S1", agentVolume: "v1", agentName: "FS01", customer: customer, runAt: Date(), status: .failure,
                rawStatus: "failure", errorMessage: "disk full", night: night, failedNightsInARow: nights,
                currentlyFailing: currentlyFailing),
            tenant: "default")
    }

    static var success: RuleProblem {
        RuleProblem(
            BackupJobRecorded(
                jobId: 8, deviceSerial: "S1", agentVolume: "v1", agentName: "FS01", customer: customer, runAt: Date(), status: .success,
                rawStatus: "success", night: "2026-11-21", failedNightsInARow: 0, currentlyFailing: false),
            tenant: "default")
    }

    static func missed(_ change: BackupConditionChanged.Change, days: Int = 2, endReason: BackupConditionChanged.EndReason? = nil)
        -> RuleProblem
    {
        RuleProblem(
            BackupConditionChanged(
                kind: .backupMissed, change: change, customer: customer, deviceSerial: "S1", agentVolume: "v1", agentName: "FS01",
                since: Date(timeIntervalSince1970: 1_790_000_000), days: days, thresholdHours: 26,
                detail: "No successful backup for 2 days",
                observedAt: Date(), endReason: endReason),
            tenant: "default")
    }

    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func live(id: Int64 = 5, lastNotedNight: String = "night 2026-11-19", recovered: Bool = false) throws -> TicketRecord {
        try ticket(id: id, lastNotedNight: lastNotedNight, recoveredAt: recovered ? now : nil)
    }

    /// A ticket as stored; a closed one with who closed it, when (days before `now`) and what the PSA said.
    static func ticket(
        id: Int64 = 5, state: String = "open", lastNotedNight: String = "night 2026-11-19", recoveredAt: Date? = nil,
        closedBy: String? = nil, closedDaysAgo: Double? = nil, psaState: String? = nil
    ) throws -> TicketRecord {
        try TicketRecord(
            row: Row([
                "id": id, "rule_id": 1, "dedupe_key": "k", "tenant": "default", "customer_id": "c", "customer_name": "Acme",
                "agent_id": "a", "agent_name": "FS01", "device_serial": "S1", "company_id": "250", "external_id": "T-1",
                "state": state, "opened_night": "2026-11-19", "last_noted_night": lastNotedNight, "notes": 0,
                "recovered_at": recoveredAt?.timeIntervalSince1970, "created_at": 1_780_000_000.0,
                "closed_at": closedDaysAgo.map { now.timeIntervalSince1970 - $0 * 86_400 }, "summary": nil, "closed_by": closedBy,
                "psa_state": psaState, "psa_status": nil, "checked_at": nil, "reopens": 0, "replaces_ticket_id": nil
            ]))
    }

    func plan(
        _ problem: RuleProblem, _ action: RuleAction = .ticket, threshold: Int = 2, close: Bool = true, live: TicketRecord? = nil,
        whenClosed: WhenClosedByPerson = .reopen, windowDays: Int = 7
    ) -> RulePlan {
        RulePlan.make(
            RulePlan.Policy(
                action: action, threshold: threshold, closeOnRecovery: close, whenClosedByPerson: whenClosed, reopenWindowDays: windowDays),
            problem: problem, latest: live, now: Self.now)
    }

    @Test("below the threshold nothing happens; at it a ticket opens; a live ticket gets one note per night")
    func threshold() throws {
        #expect(plan(Self.failure(nights: 1)) == .nothing)
        #expect(plan(Self.failure(nights: 2)) == .act(retry: false, ticket: .open(replacing: nil)))
        #expect(plan(Self.failure(nights: 3), live: try Self.live()) == .act(retry: false, ticket: .note(ticket: 5)))
        // Already noted tonight: re-evaluating the same night adds nothing.
        #expect(plan(Self.failure(nights: 3), live: try Self.live(lastNotedNight: "night 2026-11-20")) == .act(retry: false, ticket: nil))
    }

    @Test("retry rules ask for a retry and open nothing; both does both")
    func retries() {
        #expect(plan(Self.failure(nights: 2), .retry) == .act(retry: true, ticket: nil))
        #expect(plan(Self.failure(nights: 2), .both) == .act(retry: true, ticket: .open(replacing: nil)))
        // An appliance-wide problem has no agent to retry.
        let offline = RuleProblem(
            BackupConditionChanged(
                kind: .deviceOffline, change: .started, customer: Self.customer, deviceSerial: "S1", since: Date(), days: 1,
                thresholdHours: 1, detail: "offline", observedAt: Date()),
            tenant: "default")
        #expect(plan(offline, .both, threshold: 1) == .act(retry: false, ticket: .open(replacing: nil)))
    }

    @Test("a recovery notes and closes the live ticket once; without a live ticket, or for a retry rule, nothing")
    func recovery() throws {
        #expect(plan(Self.success, live: try Self.live()) == .recover(ticket: 5, close: true))
        #expect(plan(Self.success, close: false, live: try Self.live()) == .recover(ticket: 5, close: false))
        #expect(plan(Self.success, live: try Self.live(recovered: true)) == .nothing, "already noted")
        #expect(plan(Self.success) == .nothing)
        #expect(plan(Self.success, .retry, live: try Self.live()) == .nothing)
    }

    @Test("a silent failure that ends for another reason (paused) is noted and left open for a person")
    func endedIsLeftOpen() throws {
        #expect(plan(Self.missed(.ended, endReason: .paused), live: try Self.live()) == .recover(ticket: 5, close: false))
        #expect(plan(Self.missed(.ended, endReason: .recovered), live: try Self.live()) == .recover(ticket: 5, close: true))
        #expect(plan(Self.missed(.continued, days: 2)) == .act(retry: false, ticket: .open(replacing: nil)))
    }

    @Test(
        "a person's close while failing: reopen within the window, a new ticket after it or when the rule says so, nothing with leave"
    )
    func closedByPerson() throws {
        func closed(daysAgo: Double) throws -> TicketRecord { try Self.ticket(state: "closed", closedBy: "person", closedDaysAgo: daysAgo) }
        #expect(plan(Self.failure(nights: 3), live: try closed(daysAgo: 1)) == .act(retry: false, ticket: .reopen(ticket: 5)))
        #expect(plan(Self.failure(nights: 3), live: try closed(daysAgo: 8)) == .act(retry: false, ticket: .open(replacing: 5)))
        #expect(
            plan(Self.failure(nights: 3), live: try closed(daysAgo: 1), whenClosed: .newTicket)
                == .act(retry: false, ticket: .open(replacing: 5)))
        #expect(
            plan(Self.failure(nights: 3), live: try closed(daysAgo: 1), whenClosed: .leave) == .act(retry: false, ticket: .leave(ticket: 5))
        )
        #expect(
            plan(Self.failure(nights: 3), live: try closed(daysAgo: 0.1), windowDays: 0) == .act(retry: false, ticket: .open(replacing: 5)))
        // Deleted or merged: always a new ticket, whatever the rule says.
        for psaState in ["deleted", "merged"] {
            let gone = try Self.ticket(state: "closed", closedBy: "person", closedDaysAgo: 1, psaState: psaState)
            #expect(plan(Self.failure(nights: 3), live: gone, whenClosed: .leave) == .act(retry: false, ticket: .open(replacing: 5)))
        }
        // A recovery never reopens: it is remembered, the PSA hears nothing.
        #expect(plan(Self.success, live: try closed(daysAgo: 1)) == .recoveredWhileClosed(ticket: 5))
        let remembered = try Self.ticket(state: "closed", recoveredAt: Self.now, closedBy: "person", closedDaysAgo: 1)
        #expect(plan(Self.success, live: remembered) == .nothing)
    }

    @Test("a new streak within the window of Vectis's own close reopens that ticket; after the window, a new one naming it")
    func reopenAfterVectisClose() throws {
        func closed(daysAgo: Double) throws -> TicketRecord {
            try Self.ticket(state: "closed", recoveredAt: Self.now - 86_400 * daysAgo, closedBy: "vectis", closedDaysAgo: daysAgo)
        }
        #expect(plan(Self.failure(nights: 2), live: try closed(daysAgo: 2)) == .act(retry: false, ticket: .reopen(ticket: 5)))
        #expect(plan(Self.failure(nights: 2), live: try closed(daysAgo: 7.5)) == .act(retry: false, ticket: .open(replacing: 5)))
        // Even a rule that leaves a person's closes alone reopens its own within the window.
        #expect(
            plan(Self.failure(nights: 2), live: try closed(daysAgo: 2), whenClosed: .leave)
                == .act(retry: false, ticket: .reopen(ticket: 5)))
        #expect(plan(Self.failure(nights: 1), live: try closed(daysAgo: 2)) == .nothing, "below the threshold")
        // A ticket the PSA refused for good is no history: a plain new ticket.
        #expect(plan(Self.failure(nights: 2), live: try Self.ticket(state: "failed")) == .act(retry: false, ticket: .open(replacing: nil)))
    }

    @Test("a note's marker is found at its end and taken off for the bus; text without one is left alone")
    func noteMarker() {
        let marker = NoteMarker.make()
        #expect(marker.hasPrefix("[vectis-note:") && marker.hasSuffix("]") && marker.count == 26)
        #expect(NoteMarker.make() != marker)
        let text = "Backup still failing [x]\n" + marker
        #expect(NoteMarker.find(in: text) == marker)
        #expect(NoteMarker.strip(text) == "Backup still failing [x]")
        #expect(NoteMarker.find(in: "no marker [vectis-note:open") == nil)
        #expect(NoteMarker.strip("plain") == "plain")
    }

    @Test("an old failure replayed after a newer success is history: no decision")
    func replayedFailure() {
        #expect(plan(Self.failure(nights: 5, currentlyFailing: false)) == .nothing)
    }
}

/// The rules service refuses settings it cannot use, by name, instead of trapping on a number.
@Suite("Rules configuration")
struct RulesConfigurationTests {
    @Test("a dry run of 1e300 hours, a negative or an infinite one, and a PSA timeout out of range are refused by name")
    func refusesOutOfRange() throws {
        let base = [
            "VECTIS_ADMIN_TOKEN": "t0123456789abcdef", "VECTIS_READ_TOKEN": "r0123456789abcdef", "VECTIS_BUS_INSECURE": "1",
            "VECTIS_DATA_DIR": FileManager.default.temporaryDirectory.appendingPathComponent("rules-config-\(UUID().uuidString)").path
        ]
        func environment(_ name: String, _ value: String) -> Environment { .development(base.merging([name: value]) { $1 }) }
        for hours in ["1e300", "-1", "inf", "nan", "8761"] {
            #expect(throws: ConfigurationError.self, "\(hours)") {
                try RulesConfiguration(environment: environment("VECTIS_RULES_DRY_RUN_HOURS", hours))
            }
        }
        for seconds in ["0", "-5", "301"] {
            #expect(throws: ConfigurationError.self, "\(seconds)") {
                try RulesConfiguration(environment: environment("VECTIS_PSA_TIMEOUT_SECONDS", seconds))
            }
        }
        #expect(try RulesConfiguration(environment: environment("VECTIS_RULES_DRY_RUN_HOURS", "0.5")).defaultDryRun == .seconds(1_800))
    }
}

/// What an agent protects, from Datto's words, and the priority that follows.
@Suite("Agent classes and priorities")
struct AgentClassTests {
    @Test("servers, workstations and shares are told apart by Datto's type and OS; an unnamed OS counts as a server")
    func classes() {
        #expect(AgentClass.of(share: false, os: "Windows Server 2022 Standard") == .server)
        #expect(AgentClass.of(share: false, os: "Microsoft Windows 11 Pro") == .workstation)
        #expect(AgentClass.of(share: false, os: "macOS 14.5") == .workstation)
        #expect(AgentClass.of(share: false, os: "Ubuntu 22.04") == .server)
        #expect(AgentClass.of(share: false, os: nil) == .server)
        #expect(AgentClass.of(share: true, os: "Windows 11 Pro") == .share)
    }

    @Test("a workstation gets its own priority, else one step below the rule's in the PSA's order; shares and servers the rule's")
    func priorities() {
        var settings = PSASettings(priorityId: 2)
        #expect(settings.priorityId(for: .server) == 2 && settings.priorityId(for: .share) == 2 && settings.priorityId(for: nil) == 2)
        #expect(settings.priorityId(for: .workstation) == nil, "decided with the PSA's order")
        #expect(PriorityLadder.below(2, in: [8, 2, 3, 4]) == 3)
        #expect(PriorityLadder.below(4, in: [8, 2, 3, 4]) == 4, "the lowest stays the lowest")
        #expect(PriorityLadder.below(7, in: [8, 2, 3, 4]) == 7, "not in the list: as chosen")
        settings.workstationPriorityId = 8
        settings.sharePriorityId = 4
        #expect(settings.priorityId(for: .workstation) == 8 && settings.priorityId(for: .share) == 4)
    }
}
