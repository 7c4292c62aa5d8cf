import Foundation
import Synchronization

/// The PSA sandbox's credentials: one working set per PSA (docs/psa-sandbox.md).
public struct PSASandboxCredentials: Sendable {
    public var connectWiseCompany = "vectis"
    public var connectWisePublicKey = "cw-public"
    public var connectWisePrivateKey = "cw-private-9f2c"
    public var connectWiseClientId = "6c1b4e2a-0d7f-4f1e-9a51-0c5e7d2f3b11"
    public var autotaskUser = "vectis-api@sandbox.example"
    public var autotaskSecret = "at-secret-7d1e"
    public var autotaskIntegrationCode = "VECTISSANDBOXINTEGRATIONCODE"
    public var haloClientId = "halo-client"
    public var haloClientSecret = "halo-secret-3b8a"
    public var haloTenant = "vectis"

    public init() {}
}

/// A ticket as a PSA holds it.
public struct SandboxTicket: Sendable, Codable, Equatable {
    public var psa: String
    public var id: Int
    public var companyId: Int
    public var summary: String
    public var details: String
    /// Where the adapter put its dedupe key (CW externalXRef, AT externalID, Halo: in the details).
    public var externalKey: String?
    public var closed: Bool
    public var statusId: Int
    public var notes: [String]
    /// Where it was filed: the ConnectWise board, Autotask queue or HaloPSA ticket type.
    public var board: Int?
    /// The ticket it was merged into (ConnectWise shows it as `mergedParentTicket`).
    public var mergedInto: Int?
    /// How often it went from closed back to open.
    public var reopens: Int = 0
    /// The priority it was opened with (ConnectWise `priority.id`, Autotask `priority`, HaloPSA `priority_id`), and
    /// HaloPSA's impact and urgency.
    public var priority: Int?
    public var impact: Int?
    public var urgency: Int?
}

/// What a technician does to a ticket in the PSA's own screens.
public enum TechnicianAction: String, Sendable, Codable, CaseIterable {
    /// Sets the PSA's closed status (ConnectWise "Closed" on the ticket's board, Autotask "Complete", HaloPSA "Closed").
    case close
    /// Sets an open status again.
    case reopen
    /// Merges it into a new ticket of the same company; ConnectWise marks it with `mergedParentTicket`.
    case merge
    /// Deletes it: the PSA answers 404 for it from then on.
    case delete
}

/// A fault for the next matching requests.
public struct PSAFault: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case rateLimit = "rate-limit"
        case serverError = "server-error"
        case badRequest = "bad-request"
        case slow
        /// The ticket is created, but the answer comes only after the client has given up.
        case createThenTimeout = "create-then-timeout"
        /// Each PSA's own way of refusing a ticket: ConnectWise 400 with `errors[]` objects, Autotask 500 with
        /// `errors[]` strings, HaloPSA 400 with a plain-text sentence.
        case validation
        /// 401 as each PSA sends it (HaloPSA: an OAuth2 `invalid_client` body; Autotask: no body).
        case unauthorized
        case forbidden
        /// 404: e.g. the ticket was deleted in the PSA before a note was added.
        case notFound = "not-found"
        /// A 200 with an HTML login page: what a wrong site URL usually gets.
        case html
        /// A 502 from a proxy, with no body.
        case emptyError = "empty-error"
        /// A 200 whose JSON body is 20 MiB, streamed without a length.
        case huge
    }

    public var fault: Kind
    public var psa: String?
    /// Only requests with this method (GET, POST, …).
    public var method: String?
    public var path: String?
    public var count: Int?
    public var retryAfterSeconds: Int?
    public var delayMilliseconds: Int?

    public init(
        fault: Kind, psa: String? = nil, method: String? = nil, path: String? = nil, count: Int? = 1,
        retryAfterSeconds: Int? = nil, delayMilliseconds: Int? = nil
    ) {
        self.fault = fault
        self.psa = psa
        self.method = method
        self.path = path
        self.count = count
        self.retryAfterSeconds = retryAfterSeconds
        self.delayMilliseconds = delayMilliseconds
    }
}

public final class PSASandboxState: Sendable {
    public let credentials: PSASandboxCredentials
    /// Client companies added to each PSA's own few ("Client 00001"…), so paging through thousands can be tested.
    public let generatedCompanies: Int
    private let tickets = Mutex<[SandboxTicket]>([])
    private let nextId = Mutex(1_000)
    let faults = Mutex<[PSAFault]>([])
    private let requestLog = Mutex<[String]>([])

    public init(credentials: PSASandboxCredentials = PSASandboxCredentials(), generatedCompanies: Int = 0) {
        self.credentials = credentials
        self.generatedCompanies = generatedCompanies
    }

    /// The generated companies' ids and names.
    var extraCompanies: [(id: Int, name: String)] {
        (0..<generatedCompanies).map { (100_000 + $0, "Client " + String(100_000 + $0).dropFirst()) }
    }

    public var allTickets: [SandboxTicket] { tickets.withLock { $0 } }

    public func tickets(psa: String) -> [SandboxTicket] { allTickets.filter { $0.psa == psa } }

    /// Requests seen, as `METHOD path`, for tests that count calls.
    public var requests: [String] { requestLog.withLock { $0 } }

    func log(_ line: String) { requestLog.withLock { $0.append(line) } }

    public func queue(_ fault: PSAFault) { faults.withLock { $0.append(fault) } }
    public func clearFaults() { faults.withLock { $0.removeAll() } }

    func takeFault(psa: String, method: String, path: String) -> PSAFault? {
        faults.withLock { queue in
            guard
                let index = queue.firstIndex(where: {
                    ($0.psa == nil || $0.psa == psa) && ($0.method == nil || $0.method == method)
                        && ($0.path.map { path.contains($0) } ?? true)
                })
            else { return nil }
            let fault = queue[index]
            if (fault.count ?? 1) > 1 { queue[index].count = (fault.count ?? 1) - 1 } else { queue.remove(at: index) }
            return fault
        }
    }

    /// The requests one PSA received with this method (`GET`, …): how a test sees the share of a budget spent.
    public func requestCount(psa: String, method: String) -> Int {
        let prefix = ["connectwise": "/cw/", "autotask": "/at/", "halopsa": "/halo/"][psa] ?? "/\(psa)/"
        return requests.filter { $0.hasPrefix(method + " " + prefix) }.count
    }

    /// A technician's change to a ticket, with each PSA's own status values; false when there is no such ticket.
    @discardableResult
    public func technician(_ action: TechnicianAction, psa: String, id: Int) -> Bool {
        let (closedStatus, openStatus): (Int, Int) =
            switch psa {
            case "connectwise":
                (PSASandboxPicklists.connectWiseClosedStatusId(board: ticket(psa: psa, id: id)?.board), ConnectWiseController.newStatusId)
            case "autotask": (AutotaskController.completeStatus, 1)
            default: (HaloController.closedStatus, 1)
            }
        switch action {
        case .close:
            return update(psa: psa, id: id) { ($0.closed, $0.statusId) = (true, closedStatus) } != nil
        case .reopen:
            return update(psa: psa, id: id) { ticket in
                if ticket.closed { ticket.reopens += 1 }
                (ticket.closed, ticket.statusId) = (false, openStatus)
            } != nil
        case .merge:
            guard let original = ticket(psa: psa, id: id) else { return false }
            let parent = create(
                psa: psa, companyId: original.companyId, summary: "Merged: " + original.summary, details: "", externalKey: nil,
                statusId: openStatus, board: original.board)
            return update(psa: psa, id: id) { ($0.closed, $0.statusId, $0.mergedInto) = (true, closedStatus, parent.id) } != nil
        case .delete:
            return tickets.withLock { all in
                guard let index = all.firstIndex(where: { $0.psa == psa && $0.id == id }) else { return false }
                all.remove(at: index)
                return true
            }
        }
    }

    /// A ticket as if opened by someone else (a test's open tickets, without going through a rule).
    public func seed(psa: String, companyId: Int, summary: String, externalKey: String?) -> SandboxTicket {
        let openStatus = psa == "connectwise" ? ConnectWiseController.newStatusId : 1
        return create(
            psa: psa, companyId: companyId, summary: summary, details: "", externalKey: externalKey, statusId: openStatus, board: 1)
    }

    func create(
        psa: String, companyId: Int, summary: String, details: String, externalKey: String?, statusId: Int, board: Int?,
        priority: Int? = nil, impact: Int? = nil, urgency: Int? = nil
    ) -> SandboxTicket {
        let id = nextId.withLock { id in
            id += 1
            return id
        }
        let ticket = SandboxTicket(
            psa: psa, id: id, companyId: companyId, summary: summary, details: details, externalKey: externalKey,
            closed: false, statusId: statusId, notes: [], board: board, mergedInto: nil, priority: priority, impact: impact,
            urgency: urgency)
        tickets.withLock { $0.append(ticket) }
        return ticket
    }

    func ticket(psa: String, id: Int) -> SandboxTicket? {
        tickets.withLock { $0.first { $0.psa == psa && $0.id == id } }
    }

    @discardableResult
    func update(psa: String, id: Int, _ change: (inout SandboxTicket) -> Void) -> SandboxTicket? {
        tickets.withLock { all in
            guard let index = all.firstIndex(where: { $0.psa == psa && $0.id == id }) else { return nil }
            change(&all[index])
            return all[index]
        }
    }
}
