import Foundation
import Testing
import VectisAPI
import VectisCLI

/// `vectis tickets`: who closed a ticket, how often Vectis reopened it, and what the PSA said when last read.
@Suite("vectis tickets output")
struct TicketsOutputTests {
    static func ticket(
        state: TicketView.State, closedBy: TicketView.Closer? = nil, psaState: TicketView.PSAState? = nil, psaStatus: String? = nil,
        checked: Bool = true, reopens: Int = 0, replaces: Int64? = nil
    ) -> TicketView {
        TicketView(
            id: 3, ruleId: "ru_1", psa: .connectwise, externalId: "1002", state: state, customerId: "c", customerName: "Acme",
            agentName: "ACME-FS01", companyId: "250", notes: 1, openedNight: "night 2026-11-20", summary: nil,
            openedAt: Date(timeIntervalSince1970: 1_790_000_000), closedAt: nil, closedBy: closedBy, psaState: psaState,
            psaStatus: psaStatus, checkedAt: checked ? Date(timeIntervalSince1970: 1_790_000_600) : nil, reopens: reopens,
            replacesTicketId: replaces)
    }

    @Test("the state says who closed it, the reopens and the ticket it replaces; the PSA column its status, merged or deleted")
    func columns() {
        #expect(TicketsCommand.state(Self.ticket(state: .closed, closedBy: .person)) == "closed by a person")
        #expect(TicketsCommand.state(Self.ticket(state: .closed, closedBy: .vectis)) == "closed by Vectis")
        #expect(TicketsCommand.state(Self.ticket(state: .open, reopens: 2, replaces: 1)) == "open (reopened 2×) replaces #1")
        #expect(TicketsCommand.inPSA(Self.ticket(state: .open, checked: false)) == "-")
        #expect(TicketsCommand.inPSA(Self.ticket(state: .open, psaState: .open, psaStatus: "New")).hasPrefix("New, read 2026-09-21"))
        #expect(TicketsCommand.inPSA(Self.ticket(state: .closed, psaState: .deleted)).hasPrefix("deleted, read"))
        #expect(
            TicketsCommand.inPSA(Self.ticket(state: .closed, psaState: .merged, psaStatus: "Closed")).hasPrefix("Closed (merged), read"))
    }
}
