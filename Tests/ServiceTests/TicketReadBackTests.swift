import DattoSandbox
import Foundation
import GRDB
import PSASandbox
import RulesService
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// The PSA is the technician's system of record: Vectis reads its tickets back and what people did to them wins.
@Suite("Tickets read back from the PSA: what people do to them wins", .serialized)
struct TicketReadBackTests {
    static let psas = ["connectwise", "autotask", "halopsa"]

    /// The tickets the rule opened (a merge's new parent ticket is the technician's).
    static func vectisTickets(_ sandbox: PSASandboxState, _ psa: String) -> [SandboxTicket] {
        sandbox.tickets(psa: psa).filter { !$0.summary.hasPrefix("Merged: ") }
    }

    /// A rule on the sandbox PSA, the customer mapped, one agent failing for `nights` from now.
    static func failingAgent(
        _ harness: SystemHarness, psa: String, nights: Int, rule extra: [String: Any] = [:]
    ) async throws -> (rule: String, volume: String) {
        try await harness.configure()
        try await harness.waitForHistory()
        let rule = try await harness.enableRule(psa, extra: extra)
        let device = harness.sandbox.inventory()[0]
        try await harness.map(psa, customer: StableID.customer(tenant: "default", key: expectedCustomerKey(device)), company: "250")
        let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
        #expect(harness.sandbox.fail(volume: agent.volume, nights: nights))
        return (rule, agent.volume)
    }

    /// Two failed nights: the rule's first ticket, open in the PSA and in Vectis.
    static func firstTicket(_ harness: SystemHarness, psa: String, rule: String) async throws -> SandboxTicket {
        let sandbox = harness.psa
        try await harness.nextNight()
        try await harness.nextNight()
        #expect(try await eventually { vectisTickets(sandbox, psa).count == 1 })
        #expect(try await eventually { try await harness.tickets(rule: rule).first?.state == .open })
        return try #require(vectisTickets(sandbox, psa).first)
    }

    @Test(
        "closed by a person while failing: reopened with one 'Still failing' note; deleted or merged: exactly one new ticket naming it; closed again before the recovery: nothing written, the alert resolved",
        arguments: psas)
    func personCloses(psa: String) async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet) { harness in
            let (rule, volume) = try await Self.failingAgent(harness, psa: psa, nights: 10)
            let sandbox = harness.psa
            let first = try await Self.firstTicket(harness, psa: psa, rule: rule)

            // A technician closes it while the backup still fails: the next failed night reopens it with one note.
            #expect(sandbox.technician(.close, psa: psa, id: first.id))
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first { $0.id == first.id }?.notes.count == 1 })
            let reopened = try #require(sandbox.tickets(psa: psa).first { $0.id == first.id })
            #expect(!reopened.closed && reopened.reopens == 1, "\(reopened)")
            #expect(reopened.notes.first?.contains("Still failing") == true, "\(reopened.notes)")
            #expect(Self.vectisTickets(sandbox, psa).count == 1, "no second ticket")
            let shown = try #require(try await harness.tickets(rule: rule).first)
            #expect(shown.state == .open && shown.reopens == 1 && shown.psaState == .open && shown.checkedAt != nil, "\(shown)")
            #expect(try await eventually { try await harness.alertList().first?.note?.contains("closed by a person") == true })

            // Merged (ConnectWise marks it) or deleted: the next failed night opens exactly one new ticket naming it.
            let gone: TechnicianAction = psa == "connectwise" ? .merge : .delete
            #expect(sandbox.technician(gone, psa: psa, id: first.id))
            try await harness.nextNight()
            #expect(try await eventually { Self.vectisTickets(sandbox, psa).filter { $0.id != first.id }.count == 1 })
            let second = try #require(Self.vectisTickets(sandbox, psa).first { $0.id != first.id })
            #expect(second.details.contains("replaces ticket \(first.id)"), "\(second.details)")
            #expect(try await eventually { try await harness.tickets(rule: rule).count == 2 })
            let views = try await harness.tickets(rule: rule)
            let old = try #require(views.first { $0.externalId == "\(first.id)" })
            #expect(old.state == .closed && old.closedBy == .person && old.psaState == (gone == .merge ? .merged : .deleted), "\(old)")
            #expect(try await eventually { try await harness.tickets(rule: rule).first { $0.replacesTicketId == old.id }?.state == .open })
            try await Task.sleep(for: .seconds(1))
            #expect(Self.vectisTickets(sandbox, psa).count == (gone == .merge ? 2 : 1), "exactly one new ticket")

            // Closed by a person again, and the backup recovers before Vectis noticed: nothing is written to the closed
            // ticket, and the alert is resolved.
            let notesBefore = try #require(sandbox.tickets(psa: psa).first { $0.id == second.id }).notes.count
            #expect(sandbox.technician(.close, psa: psa, id: second.id))
            #expect(harness.sandbox.recover(volume: volume))
            try await harness.nextNight()
            #expect(try await eventually { try await harness.alertList().first?.state == .resolved })
            #expect(
                try await eventually {
                    try await harness.tickets(rule: rule).first { $0.externalId == "\(second.id)" }?.closedBy == .person
                })
            try await Task.sleep(for: .seconds(1))
            let after = try #require(sandbox.tickets(psa: psa).first { $0.id == second.id })
            #expect(after.closed && after.reopens == 0 && after.notes.count == notesBefore, "\(after)")
            let reason = try await harness.alertList().first?.resolvedReason
            #expect(reason == "ticket-closed" || reason == "recovered", "\(reason ?? "nil")")
        }
    }

    @Test(
        "whenClosedByPerson new-ticket opens exactly one new ticket naming the closed one; leave writes nothing and the history says so",
        arguments: psas)
    func newTicketAndLeave(psa: String) async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet) { harness in
            let (rule, _) = try await Self.failingAgent(harness, psa: psa, nights: 10, rule: ["whenClosedByPerson": "new-ticket"])
            let sandbox = harness.psa
            let first = try await Self.firstTicket(harness, psa: psa, rule: rule)
            #expect(sandbox.technician(.close, psa: psa, id: first.id))
            try await harness.nextNight()
            #expect(try await eventually { Self.vectisTickets(sandbox, psa).count == 2 })
            let second = try #require(Self.vectisTickets(sandbox, psa).first { $0.id != first.id })
            #expect(second.details.contains("ticket \(first.id)") && second.details.contains("closed"), "\(second.details)")
            let closed = try #require(sandbox.tickets(psa: psa).first { $0.id == first.id })
            #expect(closed.closed && closed.notes.isEmpty && closed.reopens == 0)

            // The rule now leaves a person's close alone.
            let changed = try await harness.rules("/v1/rules/\(rule)", "PATCH", ["whenClosedByPerson": "leave"], as: RuleView.self)
            #expect(changed.whenClosedByPerson == .leave)
            #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["whenClosedByPerson": "escalate"]).status == 400)
            #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["reopenWindowDays": 91]).status == 400)
            #expect(
                try await eventually { try await harness.tickets(rule: rule).first { $0.externalId == "\(second.id)" }?.state == .open })
            #expect(sandbox.technician(.close, psa: psa, id: second.id))
            try await harness.nextNight()
            #expect(try await eventually { try await harness.history(rule).contains { $0.kind == "left-closed" } })
            try await harness.nextNight()
            try await Task.sleep(for: .seconds(1))
            #expect(Self.vectisTickets(sandbox, psa).count == 2, "nothing new")
            let left = try #require(sandbox.tickets(psa: psa).first { $0.id == second.id })
            #expect(left.closed && left.notes.isEmpty && left.reopens == 0, "\(left)")
            #expect(try await harness.history(rule).filter { $0.kind == "left-closed" }.count == 2, "once a night")
        }
    }

    @Test(
        "a new streak within the window of Vectis's own close reopens that ticket, no new one; with no window, exactly one new ticket naming it",
        arguments: psas)
    func reopenWithinWindow(psa: String) async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet) { harness in
            let (rule, volume) = try await Self.failingAgent(harness, psa: psa, nights: 2)
            let sandbox = harness.psa
            let first = try await Self.firstTicket(harness, psa: psa, rule: rule)
            #expect(harness.sandbox.recover(volume: volume))
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first { $0.id == first.id }?.closed == true })

            // The same failure two nights again, days later: the same ticket, reopened, with a note.
            #expect(harness.sandbox.fail(volume: volume, nights: 2))
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first { $0.id == first.id }?.closed == false })
            let reopened = try #require(sandbox.tickets(psa: psa).first { $0.id == first.id })
            #expect(reopened.reopens == 1 && Self.vectisTickets(sandbox, psa).count == 1, "\(sandbox.tickets(psa: psa))")
            #expect(
                try await eventually {
                    sandbox.tickets(psa: psa).first { $0.id == first.id }?.notes.last?.contains("Failing again") == true
                })
            #expect(try await harness.tickets(rule: rule).first?.reopens == 1)

            // Recovered and closed again; the rule no longer reopens (window 0): the next streak gets a new ticket.
            #expect(harness.sandbox.recover(volume: volume))
            try await harness.nextNight()
            #expect(try await eventually { sandbox.tickets(psa: psa).first { $0.id == first.id }?.closed == true })
            #expect(try await harness.rules("/v1/rules/\(rule)", "PATCH", ["reopenWindowDays": 0]).status == 200)
            #expect(harness.sandbox.fail(volume: volume, nights: 2))
            try await harness.nextNight()
            try await harness.nextNight()
            #expect(try await eventually { Self.vectisTickets(sandbox, psa).count == 2 })
            let second = try #require(Self.vectisTickets(sandbox, psa).first { $0.id != first.id })
            #expect(second.details.contains("ticket \(first.id), closed by Vectis"), "\(second.details)")
            #expect(sandbox.tickets(psa: psa).first { $0.id == first.id }?.reopens == 1)
        }
    }

    @Test(
        "a note added but answered too late is found on the ticket by its marker when tried again, and not added twice",
        arguments: psas)
    func noteFoundByMarker(psa: String) async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet, psaTimeout: .seconds(1)) { harness in
            let (rule, _) = try await Self.failingAgent(harness, psa: psa, nights: 5)
            let sandbox = harness.psa
            let first = try await Self.firstTicket(harness, psa: psa, rule: rule)
            let path = [
                "connectwise": "/service/tickets/\(first.id)/notes", "autotask": "/Tickets/\(first.id)/Notes", "halopsa": "/api/Actions"
            ][psa]!
            sandbox.queue(PSAFault(fault: .createThenTimeout, psa: psa, method: "POST", path: path, delayMilliseconds: 2_500))
            try await harness.nextNight()
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    try await harness.history(rule).contains { $0.detail.contains("not added twice") }
                })
            try await Task.sleep(for: .seconds(1))
            let notes = try #require(sandbox.tickets(psa: psa).first { $0.id == first.id }).notes
            #expect(notes.count == 1, "\(psa): \(notes)")
        }
    }

    @Test("the scheduled read-back of 500 open tickets per PSA spends at most its share of each PSA's budget, least recently read first")
    func readBackWithinBudget() async throws {
        try await SystemHarness.with(
            fleet: RulesTests.fleet,
            configureRules: {
                $0.ticketCheckInterval = .seconds(1)
                $0.ticketCheckShare = 0.2
            }
        ) { harness in
            let sandbox = harness.psa
            var ids: [String: Int64] = [:]
            for psa in Self.psas { ids[psa] = Int64(try await harness.enableRule(psa).dropFirst(3))! }
            let rules = ids
            // 500 open tickets per PSA, as if opened over months (seeded: opening them night by night would take hours).
            let database = try DatabaseQueue(path: harness.dataDirectory.appendingPathComponent("rules.sqlite").path)
            try await database.write { db in
                for psa in Self.psas {
                    for number in 0..<500 {
                        let ticket = sandbox.seed(psa: psa, companyId: 250, summary: "Backup failing \(number)", externalKey: nil)
                        try db.execute(
                            sql: """
                                INSERT INTO ticket (rule_id, dedupe_key, tenant, customer_id, customer_name, agent_id, agent_name,
                                    device_serial, company_id, external_id, state, opened_night, last_noted_night, created_at)
                                VALUES (?, ?, 'default', 'c', 'Acme', ?, ?, 'S1', '250', ?, 'open', 'night 2026-11-01', 'night 2026-11-01', 0)
                                """,
                            arguments: [rules[psa], "k\(number)", "a\(number)", "agent \(number)", "\(ticket.id)"])
                    }
                }
            }
            try await Task.sleep(for: .seconds(6))
            #expect(try await eventually { try await harness.tickets().filter { $0.psa == .autotask && $0.checkedAt != nil }.count == 500 })
            let tickets = try await harness.tickets()
            for psa in Self.psas {
                let gets = sandbox.requestCount(psa: psa, method: "GET")
                let checked = tickets.filter { $0.psa.rawValue == psa && $0.checkedAt != nil }.count
                print("read-back \(psa): \(checked) of 500 tickets read with \(gets) GETs in 6 s")
                switch psa {
                case "connectwise":  // 60 a minute: a share of 0.2 is 12
                    #expect(gets <= 12 && checked == gets, "\(psa): \(gets) GETs, \(checked) read")
                case "autotask":  // 10,000 an hour: 2,000 — all 500 on the first pass (passes here come every second)
                    #expect(checked == 500 && gets <= 2_000, "\(psa): \(gets) GETs, \(checked) read")
                default:  // 300 per 5 minutes: 60
                    #expect(gets <= 60 && checked == gets && checked >= 50, "\(psa): \(gets) GETs, \(checked) read")
                }
                #expect(checked > 0)
            }
            // Oldest first: the ones read are the first seeded, and each shows the PSA's status name.
            let connectwise = tickets.filter { $0.psa == .connectwise && $0.checkedAt != nil }
            #expect(
                connectwise.allSatisfy { $0.psaState == .open && $0.psaStatus == "New (not responded)" },
                "\(connectwise.first.map { "\($0)" } ?? "")")
        }
    }
}

/// A failing server is more urgent than a failing laptop: the ticket's priority follows what the agent protects.
@Suite("Ticket priority by what the agent protects", .serialized)
struct TicketPriorityTests {
    @Test(
        "a server's ticket gets the rule's priority, a workstation's one step lower in the PSA's own order (HaloPSA: impact and urgency too)",
        arguments: TicketReadBackTests.psas)
    func priorityByClass(psa: String) async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            var (settings, secrets) = harness.psaConnection(psa)
            // The rule's priority, and what one step lower is in each sandbox tenant's order.
            let (priority, lower) = ["connectwise": (2, 3), "autotask": (1, 2), "halopsa": (2, 3)][psa]!
            settings["priorityId"] = priority
            if psa == "halopsa" { (settings["impact"], settings["urgency"], settings["workstationUrgency"]) = (1, 1, 3) }
            let created = try await harness.rules(
                "/v1/rules", "POST",
                ["templateId": "datto-fails-2-nights-\(psa)", "dryRunHours": 0, "settings": settings, "secrets": secrets], as: RuleView.self
            )
            let device = harness.sandbox.inventory()[0]
            try await harness.map(psa, customer: StableID.customer(tenant: "default", key: expectedCustomerKey(device)), company: "250")
            let server = try #require(
                harness.sandbox.addAgent(serialNumber: device.serialNumber, name: "ACME-SQL01", os: "Windows Server 2019"))
            let laptop = try #require(harness.sandbox.addAgent(serialNumber: device.serialNumber, name: "ACME-LT07", os: "Windows 11 Pro"))
            try await harness.nextNight()
            #expect(harness.sandbox.fail(volume: server, nights: 3) && harness.sandbox.fail(volume: laptop, nights: 3))
            let sandbox = harness.psa
            for _ in 0..<3 where sandbox.tickets(psa: psa).count < 2 {
                try await harness.nextNight()
                _ = try await eventually(timeout: .seconds(5)) { sandbox.tickets(psa: psa).count == 2 }
            }
            let tickets = sandbox.tickets(psa: psa)
            let serverTicket = try #require(tickets.first { $0.summary.contains("ACME-SQL01") }, "\(tickets.map(\.summary))")
            let laptopTicket = try #require(tickets.first { $0.summary.contains("ACME-LT07") }, "\(tickets.map(\.summary))")
            #expect(serverTicket.priority == priority, "\(psa) server")
            #expect(laptopTicket.priority == lower, "\(psa) workstation")
            if psa == "halopsa" {
                #expect(serverTicket.impact == 1 && serverTicket.urgency == 1)
                #expect(laptopTicket.impact == 1 && laptopTicket.urgency == 3)
            }
            let shown = try await harness.tickets(rule: created.id)
            #expect(Set(shown.compactMap(\.agentClass)) == [.server, .workstation], "\(shown)")
        }
    }
}
