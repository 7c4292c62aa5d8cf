import Foundation
import HTTPTypes
import Hummingbird

/// Autotask PSA REST v1.0, the endpoints the adapter uses, under `/at`.
struct AutotaskController {
    let state: PSASandboxState
    static let completeStatus = 5

    func addRoutes(to router: Router<BasicRequestContext>) {
        // Zone discovery answers on any zone host; 500 for a blank or unknown user, as the real one does.
        router.get("at/atservicesrest/v1.0/zoneInformation") { request, _ in
            guard request.uri.queryParameters.get("user") == state.credentials.autotaskUser else {
                return PSAHTTP.json(["errors": ["Zone information could not be determined"]], status: .internalServerError)
            }
            let host = request.head.authority ?? "127.0.0.1"
            return PSAHTTP.json(["zoneName": "Sandbox", "url": "http://\(host)/at/ATServicesRest/", "webUrl": "http://\(host)/at/", "ci": 1]
            )
        }
        let api = router.group("at/ATServicesRest/V1.0")
        api.post("Tickets") { request, _ in
            try await guarded(request) { delay in
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                let missing = ["companyID", "title", "status", "priority"].filter { body[$0] == nil || body[$0] is NSNull }
                guard missing.isEmpty else {
                    return PSAHTTP.json(["errors": missing.map { "Missing required field: \($0)" }], status: .internalServerError)
                }
                let ticket = state.create(
                    psa: "autotask", companyId: PSAHTTP.int(body["companyID"]) ?? 0, summary: body["title"] as? String ?? "",
                    details: body["description"] as? String ?? "", externalKey: body["externalID"] as? String,
                    statusId: PSAHTTP.int(body["status"]) ?? 1, board: PSAHTTP.int(body["queueID"]), priority: PSAHTTP.int(body["priority"])
                )
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }
                return PSAHTTP.json(["itemId": ticket.id])  // only the id comes back
            }
        }
        api.patch("Tickets") { request, _ in
            try await guarded(request) { _ in
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                guard let id = PSAHTTP.int(body["id"]) else {
                    return PSAHTTP.json(["errors": ["id is required"]], status: .internalServerError)
                }
                let status = PSAHTTP.int(body["status"])
                guard
                    state.update(
                        psa: "autotask", id: id,
                        { ticket in
                            if let status {
                                if ticket.closed && status != Self.completeStatus { ticket.reopens += 1 }
                                ticket.statusId = status
                                ticket.closed = status == Self.completeStatus
                            }
                        }) != nil
                else { return PSAHTTP.json(["errors": ["Ticket \(id) not found"]], status: .notFound) }
                return PSAHTTP.json(["itemId": id])
            }
        }
        api.post("Tickets/query") { request, _ in
            try await guarded(request) { _ in
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                let filters = (body["filter"] as? [[String: Any]]) ?? (body["Filter"] as? [[String: Any]]) ?? []
                let items = state.tickets(psa: "autotask").filter { ticket in filters.allSatisfy { matches(ticket, $0) } }
                return PSAHTTP.json([
                    "items": items.map {
                        [
                            "id": $0.id, "ticketNumber": "T20261129.\($0.id)", "title": $0.summary, "status": $0.statusId,
                            "companyID": $0.companyId, "externalID": ($0.externalKey as Any?) ?? NSNull()
                        ] as [String: Any]
                    },
                    "pageDetails": ["count": items.count, "requestCount": 500, "prevPageUrl": NSNull(), "nextPageUrl": NSNull()]
                ])
            }
        }
        api.get("Tickets/entityInformation/fields") { request, _ in
            try await guarded(request) { _ in PSAHTTP.json(["fields": PSASandboxPicklists.autotaskTicketFields]) }
        }
        api.post("Companies/query") { request, _ in
            try await guarded(request) { _ in
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                let filters = (body["filter"] as? [[String: Any]]) ?? (body["Filter"] as? [[String: Any]]) ?? []
                let active = filters.first { $0["field"] as? String == "isActive" }?["value"] as? Bool
                return companyPage(request, active: active, limit: PSAHTTP.int(body["MaxRecords"]) ?? 500, offset: 0)
            }
        }
        // Where `pageDetails.nextPageUrl` points: the same query, further on.
        api.get("Companies/query/next") { request, _ in
            try await guarded(request) { _ in
                let parameters = request.uri.queryParameters
                return companyPage(
                    request, active: parameters.get("active").map { $0 == "true" }, limit: parameters.get("limit", as: Int.self) ?? 500,
                    offset: parameters.get("offset", as: Int.self) ?? 0)
            }
        }
        api.get("Tickets/:id") { request, context in
            try await guarded(request) { _ in
                guard let id = Int(try context.parameters.require("id")), let ticket = state.ticket(psa: "autotask", id: id) else {
                    return PSAHTTP.json(["item": NSNull()])
                }
                return PSAHTTP.json([
                    "item": ["id": ticket.id, "title": ticket.summary, "status": ticket.statusId, "companyID": ticket.companyId]
                ])
            }
        }
        api.post("TicketNotes/query") { request, _ in
            try await guarded(request) { _ in
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                let filters = (body["filter"] as? [[String: Any]]) ?? (body["Filter"] as? [[String: Any]]) ?? []
                let ticketId = filters.first { ($0["field"] as? String)?.lowercased() == "ticketid" }.flatMap { PSAHTTP.int($0["value"]) }
                let notes = ticketId.flatMap { state.ticket(psa: "autotask", id: $0) }?.notes ?? []
                return PSAHTTP.json([
                    "items": notes.enumerated().map {
                        ["id": $0.offset + 1, "ticketID": ticketId ?? 0, "description": $0.element] as [String: Any]
                    },
                    "pageDetails": ["count": notes.count, "requestCount": 500, "prevPageUrl": NSNull(), "nextPageUrl": NSNull()]
                ])
            }
        }
        api.post("Tickets/:id/Notes") { request, context in
            try await guarded(request) { delay in
                guard let id = Int(try context.parameters.require("id")) else { return PSAHTTP.json([:], status: .notFound) }
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                let missing = ["ticketID", "title", "description", "noteType", "publish"].filter { body[$0] == nil }
                guard missing.isEmpty else {
                    return PSAHTTP.json(["errors": missing.map { "Missing required field: \($0)" }], status: .internalServerError)
                }
                guard state.update(psa: "autotask", id: id, { $0.notes.append(body["description"] as? String ?? "") }) != nil else {
                    return PSAHTTP.json(["errors": ["Ticket \(id) not found"]], status: .notFound)
                }
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }  // added, but answered too late
                return PSAHTTP.json(["itemId": Int.random(in: 1...999_999)])
            }
        }
    }

    func guarded(_ request: Request, _ handler: (Int?) async throws -> Response) async throws -> Response {
        let (faulted, delay) = try await PSAHTTP.fault(state, psa: "autotask", request: request)
        if let faulted { return faulted }
        let credentials = state.credentials
        guard request.headers[HTTPField.Name("UserName")!] == credentials.autotaskUser,
            request.headers[HTTPField.Name("Secret")!] == credentials.autotaskSecret,
            request.headers[HTTPField.Name("ApiIntegrationCode")!] == credentials.autotaskIntegrationCode
        else {
            return PSAHTTP.json(["errors": ["Unauthorized"]], status: .unauthorized)
        }
        return try await handler(delay)
    }

    /// One page of companies as `Companies/query` answers it: at most 500 `items`, and a `nextPageUrl` while more remain.
    func companyPage(_ request: Request, active: Bool?, limit: Int, offset: Int) -> Response {
        let all =
            PSASandboxPicklists.autotaskCompanies
            + state.extraCompanies.map {
                ["id": $0.id, "companyName": $0.name, "isActive": true] as [String: Any]
            }
        let matching = all.filter { active == nil || $0["isActive"] as? Bool == active }
        let size = min(max(limit, 1), 500)
        let items = Array(matching.dropFirst(offset).prefix(size))
        let next =
            offset + items.count < matching.count
            ? "http://\(request.head.authority ?? "127.0.0.1")/at/ATServicesRest/V1.0/Companies/query/next?offset=\(offset + items.count)&limit=\(size)"
                + (active.map { "&active=\($0)" } ?? "")
            : nil
        return PSAHTTP.json([
            "items": items,
            "pageDetails": ["count": items.count, "requestCount": size, "prevPageUrl": NSNull(), "nextPageUrl": (next as Any?) ?? NSNull()]
                as [String: Any]
        ])
    }

    func matches(_ ticket: SandboxTicket, _ filter: [String: Any]) -> Bool {
        let field = filter["field"] as? String ?? ""
        let op = filter["op"] as? String ?? "eq"
        let value = filter["value"]
        let actual: Any? =
            switch field {
            case "companyID": ticket.companyId
            case "status": ticket.statusId
            case "externalID": ticket.externalKey
            case "id": ticket.id
            default: nil
            }
        let equal = "\(actual ?? "")" == "\(value ?? "")"
        return op == "noteq" ? !equal : equal
    }
}
