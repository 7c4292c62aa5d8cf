import Foundation
import Synchronization
import VectisAPI
import VectisContracts

/// A ticket to open.
struct NewTicket: Sendable {
    var companyId: String
    var summary: String
    var details: String
    /// Stable per problem (tenant, customer, agent, rule — no dates, no counts); stored in the PSA where it can be.
    var dedupeKey: String
    /// What the agent protects: chooses the priority (nil for an appliance-wide problem: the rule's priority).
    var agentClass: AgentClass? = nil
}

/// A PSA's priorities in its own order, most urgent first: how "one step lower" is found for a workstation.
enum PriorityLadder {
    /// The next priority after `id`, or `id` itself when it is the last or not in the list.
    static func below(_ id: Int, in ordered: [Int]) -> Int {
        guard let index = ordered.firstIndex(of: id), index + 1 < ordered.count else { return id }
        return ordered[index + 1]
    }

    /// Read once an hour per PSA account.
    static let cache = PSALookupCache<[Int]>()

    /// The priority a ticket gets: the rule's per-class choice, else for a workstation one step below the rule's
    /// priority in the PSA's order (read with `order`; if that fails, the rule's priority).
    static func choose(
        _ settings: PSASettings, for agentClass: AgentClass?, account: String, order: () async throws(PSAError) -> [Int]
    ) async -> Int? {
        if let chosen = settings.priorityId(for: agentClass) { return chosen }
        guard agentClass == .workstation, let base = settings.priorityId else { return settings.priorityId }
        guard let ids = await cache.value(for: account, read: { (try? await order()).map { Array($0.prefix(200)) } }) else { return base }
        return below(base, in: ids)
    }
}

/// What one PSA can do for the rules service. Each adapter follows the vendor's API exactly
/// (docs/rules.md lists the routes and fields each one uses).
protocol PSAAdapter: Sendable {
    var kind: PSAKind { get }
    /// Returns the PSA's ticket id.
    func createTicket(_ ticket: NewTicket) async throws(PSAError) -> String
    /// An open ticket carrying `dedupeKey` in `companyId`, if any: how an ambiguous create is resolved.
    func findOpenTicket(dedupeKey: String, companyId: String) async throws(PSAError) -> String?
    func addNote(ticketId: String, text: String) async throws(PSAError)
    func closeTicket(ticketId: String) async throws(PSAError)
    /// The PSA tenant's pick lists for the rule's settings, and its companies (one page).
    func picklists() async throws(PSAError) -> PSAPicklists
    /// The ticket as the PSA holds it now: open, closed, merged, or gone (404/410).
    func readTicket(ticketId: String) async throws(PSAError) -> PSATicketReading
    /// Sets the rule's reopen status on a closed ticket.
    func reopenTicket(ticketId: String) async throws(PSAError)
    /// Whether a note carrying `marker` is on the ticket already: how a note found in flight after a crash is not
    /// added twice.
    func hasNote(ticketId: String, marker: String) async throws(PSAError) -> Bool
}

/// A ticket as the PSA answered for it when read back.
struct PSATicketReading: Sendable, Equatable {
    var state: TicketView.PSAState
    /// The PSA's own name for the ticket's status ("Closed", "Complete", …), cut to a length a screen can show.
    var statusName: String?

    init(state: TicketView.PSAState, statusName: String?) {
        self.state = state
        self.statusName = statusName.map { String($0.prefix(80)) }
    }

    static let deleted = PSATicketReading(state: .deleted, statusName: nil)

    /// A 404 or 410 for the ticket itself means it is gone; any other failure is the call's.
    static func gone(_ error: PSAError) throws(PSAError) -> PSATicketReading {
        if case .rejected(let status, _) = error, status == 404 || status == 410 { return .deleted }
        throw error
    }
}

/// A marker written at the end of each note (`[vectis-note:…]`), unique per queued note.
enum NoteMarker {
    static func make() -> String { "[vectis-note:\(UUID().uuidString.prefix(12).lowercased())]" }

    /// The text without its marker: what the bus and the history show.
    static func strip(_ text: String) -> String {
        guard let marker = find(in: text), let range = text.range(of: "\n" + marker, options: .backwards) else { return text }
        return String(text[..<range.lowerBound])
    }

    /// The marker a note's text ends with, if any.
    static func find(in text: String) -> String? {
        guard let start = text.range(of: "[vectis-note:", options: .backwards), let end = text[start.upperBound...].firstIndex(of: "]")
        else { return nil }
        return String(text[start.lowerBound...end])
    }
}

/// How a PSA call failed, and so whether to try again.
enum PSAError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 429: try again after this long.
    case rateLimited(retryAfter: Duration, status: Int)
    /// 5xx or a dropped connection: back off and try again.
    case transient(status: Int?, message: String)
    /// No answer in time: for a create, the ticket may exist — search by key before creating again.
    case timeout
    /// 401/403: credentials or permissions; retrying cannot help.
    case unauthorized(status: Int, message: String)
    /// 400 and other refusals of the request itself; never retried.
    case rejected(status: Int, message: String)

    var retryable: Bool {
        switch self {
        case .rateLimited, .transient, .timeout: true
        case .unauthorized, .rejected: false
        }
    }

    var status: Int? {
        switch self {
        case .rateLimited(_, let status), .unauthorized(let status, _), .rejected(let status, _): status
        case .transient(let status, _): status
        case .timeout: nil
        }
    }

    var description: String {
        switch self {
        case .rateLimited(let wait, let status): "HTTP \(status): rate limited, retry after \(wait)"
        case .transient(let status, let message): "\(status.map { "HTTP \($0)" } ?? "network"): \(message)"
        case .timeout: "no answer in time"
        case .unauthorized(let status, let message): "HTTP \(status): \(message)"
        case .rejected(let status, let message): status > 0 ? "HTTP \(status): \(message)" : message
        }
    }
}
