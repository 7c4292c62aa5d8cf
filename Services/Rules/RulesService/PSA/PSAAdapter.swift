import Foundation
import VectisContracts

/// A ticket to open.
struct NewTicket: Sendable {
    var companyId: String
    var summary: String
    var details: String
    /// Stable per problem (tenant, customer, agent, rule — no dates, no counts); stored in the PSA where it can be.
    var dedupeKey: String
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
