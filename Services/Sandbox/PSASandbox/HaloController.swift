import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// HaloPSA: OAuth2 client credentials and the resource API, under `/halo`.
struct HaloController {
    let state: PSASandboxState
    let tokens = TokenStore()
    static let closedStatus = 9

    final class TokenStore: Sendable {
        let issued = Mutex<Set<String>>([])
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("halo/api/authinfo") { request, _ in
            let host = request.head.authority ?? "127.0.0.1"
            return PSAHTTP.json(["auth_url": "http://\(host)/halo/auth", "tenant_id": state.credentials.haloTenant])
        }
        router.post("halo/auth/token") { request, _ in
            let form = try await PSAHTTP.rawBody(request)
            var fields: [String: String] = [:]
            for pair in form.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            let credentials = state.credentials
            guard fields["grant_type"] == "client_credentials", fields["client_id"] == credentials.haloClientId,
                fields["client_secret"] == credentials.haloClientSecret,
                request.uri.queryParameters.get("tenant") == credentials.haloTenant
            else { return PSAHTTP.json(["error": "invalid_client"], status: .unauthorized) }
            let token = UUID().uuidString
            tokens.issued.withLock { _ = $0.insert(token) }
            return PSAHTTP.json(["access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": fields["scope"] ?? "all"])
        }
        let api = router.group("halo/api")
        api.post("Tickets") { request, _ in
            try await guarded(request) { delay in
                guard let array = try await PSAHTTP.body(request) as? [[String: Any]] else {
                    return PSAHTTP.json(["id": "The request body must be a JSON array"], status: .badRequest)
                }
                var results: [[String: Any]] = []
                for (index, object) in array.enumerated() {
                    if let id = PSAHTTP.int(object["id"]) {
                        let status = PSAHTTP.int(object["status_id"])
                        guard
                            let ticket = state.update(
                                psa: "halopsa", id: id,
                                { ticket in
                                    if let status {
                                        if ticket.closed && status != Self.closedStatus { ticket.reopens += 1 }
                                        ticket.statusId = status
                                        ticket.closed = status == Self.closedStatus
                                    }
                                })
                        else { return PSAHTTP.json(["[\(index)].id": "Ticket not found"], status: .badRequest) }
                        results.append(render(ticket))
                        continue
                    }
                    guard let summary = object["summary"] as? String, !summary.isEmpty else {
                        return PSAHTTP.json(["[\(index)].summary": "Please enter a summary"], status: .badRequest)
                    }
                    guard let client = PSAHTTP.int(object["client_id"]) else {
                        return PSAHTTP.json(["[\(index)].client_id": "Please select a client"], status: .badRequest)
                    }
                    let ticket = state.create(
                        psa: "halopsa", companyId: client, summary: summary, details: object["details_html"] as? String ?? "",
                        externalKey: nil, statusId: 1, board: PSAHTTP.int(object["tickettype_id"]),
                        priority: PSAHTTP.int(object["priority_id"]), impact: PSAHTTP.int(object["impact"]),
                        urgency: PSAHTTP.int(object["urgency"]))
                    results.append(render(ticket))
                }
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }
                return PSAHTTP.json(results.count == 1 ? results[0] : results as Any, status: .created)
            }
        }
        api.get("Tickets") { request, _ in
            try await guarded(request) { _ in
                let parameters = request.uri.queryParameters
                let client = parameters.get("client_id", as: Int.self)
                let openOnly = parameters.get("open_only") == "true"
                let search = parameters.get("search") ?? ""
                let matches = state.tickets(psa: "halopsa").filter { ticket in
                    (client == nil || ticket.companyId == client) && (!openOnly || !ticket.closed)
                        && (search.isEmpty || ticket.summary.contains(search) || ticket.details.contains(search))
                }
                return PSAHTTP.json(["record_count": matches.count, "tickets": matches.map(render)])
            }
        }
        api.get("Tickets/:id") { request, context in
            try await guarded(request) { _ in
                guard let id = Int(try context.parameters.require("id")), let ticket = state.ticket(psa: "halopsa", id: id) else {
                    return PSAHTTP.json(["id": "Ticket not found"], status: .notFound)
                }
                return PSAHTTP.json(render(ticket))
            }
        }
        api.get("TicketType") { request, _ in try await guarded(request) { _ in PSAHTTP.json(PSASandboxPicklists.haloTicketTypes) } }
        api.get("Priority") { request, _ in try await guarded(request) { _ in PSAHTTP.json(PSASandboxPicklists.haloPriorities) } }
        api.get("Status") { request, _ in try await guarded(request) { _ in PSAHTTP.json(PSASandboxPicklists.haloStatuses) } }
        api.get("Outcome") { request, _ in try await guarded(request) { _ in PSAHTTP.json(PSASandboxPicklists.haloOutcomes) } }
        api.get("Client") { request, _ in
            try await guarded(request) { _ in
                let parameters = request.uri.queryParameters
                let all =
                    PSASandboxPicklists.haloClients
                    + state.extraCompanies.map { ["id": $0.id, "name": $0.name, "inactive": false] as [String: Any] }
                let clients = all.filter {
                    parameters.get("includeinactive") == "true" || $0["inactive"] as? Bool == false
                }
                guard parameters.get("pageinate") == "true" else {
                    return PSAHTTP.json(["record_count": clients.count, "clients": clients])
                }
                let size = max(parameters.get("page_size", as: Int.self) ?? 50, 1)
                let number = max(parameters.get("page_no", as: Int.self) ?? 1, 1)
                return PSAHTTP.json(["record_count": clients.count, "clients": Array(clients.dropFirst((number - 1) * size).prefix(size))])
            }
        }
        api.get("Actions") { request, _ in
            try await guarded(request) { _ in
                guard let id = request.uri.queryParameters.get("ticket_id", as: Int.self), let ticket = state.ticket(psa: "halopsa", id: id)
                else { return PSAHTTP.json(["record_count": 0, "actions": [[String: Any]]()]) }
                let actions = ticket.notes.enumerated().map {
                    ["id": $0.offset + 1, "ticket_id": id, "note_html": $0.element, "outcome": "Private Note"] as [String: Any]
                }
                return PSAHTTP.json(["record_count": actions.count, "actions": Array(actions.reversed())])
            }
        }
        api.post("Actions") { request, _ in
            try await guarded(request) { delay in
                guard let array = try await PSAHTTP.body(request) as? [[String: Any]], let action = array.first else {
                    return PSAHTTP.json(["id": "The request body must be a JSON array"], status: .badRequest)
                }
                guard PSAHTTP.int(action["outcome_id"]) != nil else {
                    return PSAHTTP.json(["[0].outcome_id": "An Outcome must be entered for this Action"], status: .badRequest)
                }
                guard let id = PSAHTTP.int(action["ticket_id"]),
                    state.update(psa: "halopsa", id: id, { $0.notes.append(action["note_html"] as? String ?? "") }) != nil
                else { return PSAHTTP.json(["[0].ticket_id": "Ticket not found"], status: .badRequest) }
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }  // added, but answered too late
                return PSAHTTP.json(["id": Int.random(in: 1...999_999), "ticket_id": id], status: .created)
            }
        }
    }

    func guarded(_ request: Request, _ handler: (Int?) async throws -> Response) async throws -> Response {
        let (faulted, delay) = try await PSAHTTP.fault(state, psa: "halopsa", request: request)
        if let faulted { return faulted }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            tokens.issued.withLock({ $0.contains(String(header.dropFirst(7))) })
        else { return PSAHTTP.json(["error": "invalid_token"], status: .unauthorized) }
        return try await handler(delay)
    }

    func render(_ ticket: SandboxTicket) -> [String: Any] {
        [
            "id": ticket.id, "summary": ticket.summary, "client_id": ticket.companyId, "status_id": ticket.statusId,
            "hasbeenclosed": ticket.closed, "details_html": ticket.details,
            "status_name": PSASandboxPicklists.haloStatuses.first { $0["id"] as? Int == ticket.statusId }?["name"] as? String ?? "Status"
        ]
    }
}
