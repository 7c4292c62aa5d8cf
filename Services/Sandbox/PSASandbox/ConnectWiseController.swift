import Foundation
import HTTPTypes
import Hummingbird

/// ConnectWise PSA (Manage) REST 3.0, the endpoints the adapter uses, under `/cw`.
struct ConnectWiseController {
    let state: PSASandboxState
    static let newStatusId = 16

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("cw/login/companyinfo/:company") { _, context in
            let company = try context.parameters.require("company")
            guard company == state.credentials.connectWiseCompany else { return PSAHTTP.json(NSNull()) }
            return PSAHTTP.json([
                "CompanyName": "Vectis Sandbox", "Codebase": "v4_6_release/", "VersionCode": "v2025.1",
                "CompanyID": company, "IsCloud": true, "SiteUrl": "sandbox"
            ])
        }
        let api = router.group("cw/v4_6_release/apis/3.0")
        api.post("service/tickets") { request, _ in
            try await guarded(request) { delay in
                guard let body = try await PSAHTTP.body(request) as? [String: Any] else {
                    return invalid("ticket object is invalid", field: "ticket")
                }
                guard let summary = body["summary"] as? String, !summary.isEmpty else {
                    return invalid("summary is required", field: "summary", code: "NullValue")
                }
                guard summary.count <= 100 else {
                    return invalid("summary is longer than 100 characters", field: "summary", code: "InvalidLength")
                }
                guard let companyId = PSAHTTP.int((body["company"] as? [String: Any])?["id"]) else {
                    return invalid("company is required", field: "company", code: "NullValue")
                }
                let ticket = state.create(
                    psa: "connectwise", companyId: companyId, summary: summary, details: body["initialDescription"] as? String ?? "",
                    externalKey: body["externalXRef"] as? String,
                    statusId: PSAHTTP.int((body["status"] as? [String: Any])?["id"]) ?? Self.newStatusId,
                    board: PSAHTTP.int((body["board"] as? [String: Any])?["id"]),
                    priority: PSAHTTP.int((body["priority"] as? [String: Any])?["id"]))
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }
                return PSAHTTP.json(render(ticket), status: .created)
            }
        }
        api.get("service/tickets") { request, _ in
            try await guarded(request) { _ in
                let conditions = request.uri.queryParameters.get("conditions") ?? ""
                let found = state.tickets(psa: "connectwise").filter { self.matches($0, conditions) }
                return PSAHTTP.json(found.map(render))
            }
        }
        api.get("service/tickets/:id") { request, context in
            try await guarded(request) { _ in
                guard let id = Int(try context.parameters.require("id")), let ticket = state.ticket(psa: "connectwise", id: id) else {
                    return PSAHTTP.json(["code": "NotFound", "message": "Ticket not found"], status: .notFound)
                }
                return PSAHTTP.json(render(ticket))
            }
        }
        api.get("service/boards") { request, _ in
            try await guarded(request) { _ in
                PSAHTTP.json(page(PSASandboxPicklists.connectWiseBoards.filter { active($0, request, flag: "inactiveFlag") }, request))
            }
        }
        api.get("service/boards/:id/statuses") { request, context in
            try await guarded(request) { _ in
                guard let id = Int(try context.parameters.require("id")), let statuses = PSASandboxPicklists.connectWiseStatuses[id] else {
                    return PSAHTTP.json(["code": "NotFound", "message": "Board not found"], status: .notFound)
                }
                return PSAHTTP.json(page(statuses.filter { active($0, request, flag: "inactive") }, request))
            }
        }
        api.get("service/priorities") { request, _ in
            try await guarded(request) { _ in PSAHTTP.json(page(PSASandboxPicklists.connectWisePriorities, request)) }
        }
        api.get("company/companies") { request, _ in
            try await guarded(request) { _ in
                let conditions = request.uri.queryParameters.get("conditions") ?? ""
                let all =
                    PSASandboxPicklists.connectWiseCompanies
                    + state.extraCompanies.map {
                        ["id": $0.id, "identifier": "Client\($0.id)", "name": $0.name, "deletedFlag": false] as [String: Any]
                    }
                let companies = all.filter { !conditions.contains("deletedFlag=false") || $0["deletedFlag"] as? Bool == false }
                return PSAHTTP.json(page(companies, request))
            }
        }
        api.post("service/tickets/:id/notes") { request, context in
            try await guarded(request) { delay in
                guard let id = Int(try context.parameters.require("id")) else { return PSAHTTP.json([:], status: .notFound) }
                let body = try await PSAHTTP.body(request) as? [String: Any] ?? [:]
                guard let text = body["text"] as? String, !text.isEmpty else {
                    return invalid("text is required", field: "text", code: "NullValue")
                }
                let flags = ["detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag"].contains { body[$0] as? Bool == true }
                guard flags else {
                    return invalid("one of detailDescriptionFlag, internalAnalysisFlag, resolutionFlag must be true", field: "text")
                }
                guard state.update(psa: "connectwise", id: id, { $0.notes.append(text) }) != nil else {
                    return PSAHTTP.json(["code": "NotFound", "message": "Ticket not found"], status: .notFound)
                }
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }  // done, but answered too late
                return PSAHTTP.json(["id": Int.random(in: 1...999_999), "ticketId": id, "text": text], status: .created)
            }
        }
        api.get("service/tickets/:id/notes") { request, context in
            try await guarded(request) { _ in
                guard let id = Int(try context.parameters.require("id")), let ticket = state.ticket(psa: "connectwise", id: id) else {
                    return PSAHTTP.json(["code": "NotFound", "message": "Ticket not found"], status: .notFound)
                }
                let notes = ticket.notes.enumerated().map { ["id": $0.offset + 1, "ticketId": id, "text": $0.element] as [String: Any] }
                return PSAHTTP.json(page(Array(notes.reversed()), request))
            }
        }
        api.patch("service/tickets/:id") { request, context in
            try await guarded(request) { delay in
                guard let id = Int(try context.parameters.require("id")) else { return PSAHTTP.json([:], status: .notFound) }
                guard let patch = try await PSAHTTP.body(request) as? [[String: Any]],
                    let status = patch.first(where: { $0["path"] as? String == "/status" }),
                    let statusId = PSAHTTP.int((status["value"] as? [String: Any])?["id"])
                else { return invalid("a JSON Patch array is expected", field: "patch") }
                guard
                    let ticket = state.update(
                        psa: "connectwise", id: id,
                        {
                            let closed = PSASandboxPicklists.connectWiseClosedStatusIds.contains(statusId)
                            if $0.closed && !closed { $0.reopens += 1 }
                            $0.statusId = statusId
                            $0.closed = closed
                        })
                else { return PSAHTTP.json(["code": "NotFound", "message": "Ticket not found"], status: .notFound) }
                if let delay { try await Task.sleep(for: .milliseconds(delay)) }
                return PSAHTTP.json(render(ticket))
            }
        }
    }

    /// Checks Basic `company+public:private` and the clientId header, applies faults.
    func guarded(_ request: Request, _ handler: (Int?) async throws -> Response) async throws -> Response {
        let (faulted, delay) = try await PSAHTTP.fault(state, psa: "connectwise", request: request)
        if let faulted { return faulted }
        let credentials = state.credentials
        let expected =
            "Basic "
            + Data("\(credentials.connectWiseCompany)+\(credentials.connectWisePublicKey):\(credentials.connectWisePrivateKey)".utf8)
            .base64EncodedString()
        guard request.headers[.authorization] == expected,
            request.headers[HTTPField.Name("clientId")!] == credentials.connectWiseClientId
        else {
            return PSAHTTP.json(["code": "Unauthorized", "message": "Invalid credentials or clientId"], status: .unauthorized)
        }
        return try await handler(delay)
    }

    /// `conditions=<flag>=false` leaves out inactive entries; without it ConnectWise lists them all.
    func active(_ entry: [String: Any], _ request: Request, flag: String) -> Bool {
        let conditions = request.uri.queryParameters.get("conditions") ?? ""
        return !conditions.contains("\(flag)=false") || entry[flag] as? Bool == false
    }

    /// ConnectWise pages every list (`page` from 1, `pageSize` 25 unless given, at most 1,000) after `orderBy`.
    func page(_ entries: [[String: Any]], _ request: Request) -> [[String: Any]] {
        var entries = entries
        if let order = request.uri.queryParameters.get("orderBy")?.split(separator: " ").first.map(String.init) {
            entries.sort { a, b in
                if let x = a[order] as? Int, let y = b[order] as? Int { return x < y }
                return "\(a[order] ?? "")" < "\(b[order] ?? "")"
            }
        }
        let size = min(max(request.uri.queryParameters.get("pageSize", as: Int.self) ?? 25, 1), 1_000)
        let number = max(request.uri.queryParameters.get("page", as: Int.self) ?? 1, 1)
        return Array(entries.dropFirst((number - 1) * size).prefix(size))
    }

    func invalid(_ message: String, field: String, code: String = "InvalidObject") -> Response {
        PSAHTTP.json(
            [
                "code": "InvalidObject", "message": "ticket object is invalid",
                "errors": [["code": code, "message": message, "resource": "ticket", "field": field]]
            ],
            status: .badRequest)
    }

    func render(_ ticket: SandboxTicket) -> [String: Any] {
        [
            "id": ticket.id, "summary": ticket.summary, "recordType": "ServiceTicket", "closedFlag": ticket.closed,
            "company": ["id": ticket.companyId],
            "status": [
                "id": ticket.statusId, "name": PSASandboxPicklists.connectWiseStatusName(ticket.statusId) ?? "Status \(ticket.statusId)"
            ],
            "externalXRef": (ticket.externalKey as Any?) ?? NSNull(),
            "mergedParentTicket": ticket.mergedInto.map { ["id": $0, "summary": "Merged"] as [String: Any] } ?? NSNull()
        ]
    }

    /// Understands `company/id=N`, `closedFlag=false|true` and `externalXRef="…"`, joined by `and`.
    func matches(_ ticket: SandboxTicket, _ conditions: String) -> Bool {
        for clause in conditions.components(separatedBy: " and ") {
            let parts = clause.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            let value = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            switch parts[0] {
            case "company/id": if Int(value) != ticket.companyId { return false }
            case "closedFlag": if (value == "true") != ticket.closed { return false }
            case "externalXRef": if value != ticket.externalKey { return false }
            default: continue
            }
        }
        return true
    }
}
