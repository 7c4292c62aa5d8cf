import Foundation
import VectisAPI
import VectisContracts
import VectisRuntime

/// ConnectWise PSA (Manage) REST 3.0: Basic `company+public:private` plus the `clientId` header; tickets carry the
/// dedupe key in `externalXRef`.
struct ConnectWiseAdapter: PSAAdapter {
    let kind = PSAKind.connectwise
    let settings: PSASettings
    let secrets: PSASecrets
    let http: PSAHTTPClient

    /// The REST base; settings are validated when the rule is saved, so a nil here means a row edited by hand.
    var base: URL {
        get throws(PSAError) {
            let configured = settings.site ?? ""
            let site = configured.hasSuffix("/") ? String(configured.dropLast()) : configured
            let codebase = settings.codebase ?? "v4_6_release/"
            guard UpstreamPolicy.baseAddressProblem(site) == nil, !codebase.contains(".."),
                let url = URL(string: "\(site)/\(codebase.hasSuffix("/") ? codebase : codebase + "/")apis/3.0/"), url.host != nil
            else {
                throw .rejected(status: 0, message: "site \(configured) is not a usable URL")
            }
            return url
        }
    }

    var headers: [String: String] {
        let pair = "\(settings.companyId ?? "")+\(settings.publicKey ?? ""):\(secrets.privateKey ?? "")"
        return ["Authorization": "Basic " + Data(pair.utf8).base64EncodedString(), "clientId": secrets.clientId ?? ""]
    }

    func createTicket(_ ticket: NewTicket) async throws(PSAError) -> String {
        var body: [String: Any] = [
            "summary": String(ticket.summary.prefix(100)),  // ConnectWise refuses summaries over 100 characters
            "company": ["id": Int(ticket.companyId) ?? 0],
            "board": ["id": settings.boardId ?? 0],
            "initialDescription": ticket.details,
            "externalXRef": String(ticket.dedupeKey.prefix(100)),
            "processNotifications": false
        ]
        if let status = settings.statusId { body["status"] = ["id": status] }
        if let priority = await PriorityLadder.choose(settings, for: ticket.agentClass, account: account, order: priorityOrder) {
            body["priority"] = ["id": priority]
        }
        let created = try await http.send("POST", try base.appendingPathComponent("service/tickets"), headers: headers, json: body)
        guard let id = (created as? [String: Any])?["id"] else { throw .transient(status: nil, message: "create answered without an id") }
        return "\(id)"
    }

    var account: String { "cw:\(settings.site ?? ""):\(settings.companyId ?? "")" }

    /// `service/priorities` by `sortOrder`, most urgent first.
    func priorityOrder() async throws(PSAError) -> [Int] {
        var components = URLComponents(url: try base.appendingPathComponent("service/priorities"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "orderBy", value: "sortOrder"), URLQueryItem(name: "pageSize", value: "100")]
        let list = try await http.send("GET", components.url!, headers: headers) as? [[String: Any]] ?? []
        return list.compactMap { PSAChoice.int($0["id"]) }
    }

    func findOpenTicket(dedupeKey: String, companyId: String) async throws(PSAError) -> String? {
        var components = URLComponents(url: try base.appendingPathComponent("service/tickets"), resolvingAgainstBaseURL: false)!
        components.queryItems = [
            URLQueryItem(
                name: "conditions", value: "company/id=\(companyId) and closedFlag=false and externalXRef=\"\(dedupeKey.prefix(100))\""),
            URLQueryItem(name: "orderBy", value: "id desc"), URLQueryItem(name: "pageSize", value: "25")
        ]
        // `+` in a condition would read as a space: encode it.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        let found = try await http.send("GET", components.url!, headers: headers)
        return ((found as? [[String: Any]])?.first?["id"]).map { "\($0)" }
    }

    func addNote(ticketId: String, text: String) async throws(PSAError) {
        _ = try await http.send(
            "POST", try base.appendingPathComponent("service/tickets/\(ticketId)/notes"), headers: headers,
            json: ["text": text, "internalAnalysisFlag": true, "detailDescriptionFlag": false, "resolutionFlag": false])
    }

    func closeTicket(ticketId: String) async throws(PSAError) {
        _ = try await http.send(
            "PATCH", try base.appendingPathComponent("service/tickets/\(ticketId)"), headers: headers,
            json: [["op": "replace", "path": "/status", "value": ["id": settings.closedStatusId ?? 0]]])
    }

    /// `GET service/tickets/{id}`: `closedFlag`, the status's name, and `mergedParentTicket` when merged.
    func readTicket(ticketId: String) async throws(PSAError) -> PSATicketReading {
        let answer: Any?
        do {
            answer = try await http.send("GET", try base.appendingPathComponent("service/tickets/\(ticketId)"), headers: headers)
        } catch {
            return try PSATicketReading.gone(error)
        }
        guard let ticket = answer as? [String: Any], let closed = ticket["closedFlag"] as? Bool else {
            throw .transient(status: 200, message: "the ticket answer has no closedFlag")
        }
        let status = ((ticket["status"] as? [String: Any])?["name"] as? String)
        if let parent = ticket["mergedParentTicket"] as? [String: Any], PSAChoice.int(parent["id"]) != nil {
            return PSATicketReading(state: .merged, statusName: status)
        }
        return PSATicketReading(state: closed ? .closed : .open, statusName: status)
    }

    /// The rule's reopen status, else its status for new tickets, else the board's first open status.
    func reopenTicket(ticketId: String) async throws(PSAError) {
        var status = settings.reopenStatusId ?? settings.statusId
        if status == nil, let board = settings.boardId {
            var components = URLComponents(
                url: try base.appendingPathComponent("service/boards/\(board)/statuses"), resolvingAgainstBaseURL: false)!
            components.queryItems = [
                URLQueryItem(name: "conditions", value: "inactive=false and closedStatus=false"),
                URLQueryItem(name: "orderBy", value: "sortOrder"),
                URLQueryItem(name: "pageSize", value: "25")
            ]
            let statuses = try await http.send("GET", components.url!, headers: headers) as? [[String: Any]] ?? []
            status = statuses.first { $0["closedStatus"] as? Bool != true }.flatMap { PSAChoice.int($0["id"]) }
        }
        guard let status else { throw .rejected(status: 0, message: "no open status to reopen with: set reopenStatusId") }
        _ = try await http.send(
            "PATCH", try base.appendingPathComponent("service/tickets/\(ticketId)"), headers: headers,
            json: [["op": "replace", "path": "/status", "value": ["id": status]]])
    }

    /// The ticket's latest 100 notes.
    func hasNote(ticketId: String, marker: String) async throws(PSAError) -> Bool {
        var components = URLComponents(
            url: try base.appendingPathComponent("service/tickets/\(ticketId)/notes"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "orderBy", value: "id desc"), URLQueryItem(name: "pageSize", value: "100")]
        let notes = try await http.send("GET", components.url!, headers: headers) as? [[String: Any]] ?? []
        return notes.contains { ($0["text"] as? String)?.contains(marker) == true }
    }

    /// Active boards, the chosen board's statuses (closed ones offered for closing), priorities, and the companies
    /// not deleted.
    func picklists() async throws(PSAError) -> PSAPicklists {
        func list(_ path: String, _ query: [String: String]) async throws(PSAError) -> Any? {
            var components = URLComponents(url: try base.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
            components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
            return try await http.send("GET", components.url!, headers: headers)
        }
        var fields: [String: [PSAChoice]] = [:]
        fields["boardId"] = PSAChoice.list(
            try await list("service/boards", ["conditions": "inactiveFlag=false", "orderBy": "name", "pageSize": "1000"]))
        fields["priorityId"] = PSAChoice.list(try await list("service/priorities", ["orderBy": "sortOrder", "pageSize": "1000"]))
        (fields["workstationPriorityId"], fields["sharePriorityId"]) = (fields["priorityId"], fields["priorityId"])
        if let board = settings.boardId {
            let statuses =
                (try await list(
                    "service/boards/\(board)/statuses", ["conditions": "inactive=false", "orderBy": "sortOrder", "pageSize": "1000"]))
                as? [[String: Any]] ?? []
            fields["statusId"] = PSAChoice.list(statuses)
            let closed = statuses.filter { $0["closedStatus"] as? Bool == true }
            fields["closedStatusId"] = PSAChoice.list(closed.isEmpty ? statuses : closed)
            let open = statuses.filter { $0["closedStatus"] as? Bool != true }
            fields["reopenStatusId"] = PSAChoice.list(open.isEmpty ? statuses : open)
        }
        // Pages of 1,000 (ConnectWise's most), up to 5,000 companies: the table holds prospects and vendors too.
        let pageSize = 1_000
        var companies: [[String: Any]] = []
        var more = true
        for page in 1...PSAPicklists.maxCompanyPages where more {
            let batch =
                (try await list(
                    "company/companies",
                    [
                        "conditions": "deletedFlag=false", "fields": "id,identifier,name", "orderBy": "name", "pageSize": "\(pageSize)",
                        "page": "\(page)"
                    ])) as? [[String: Any]] ?? []
            companies += batch
            more = batch.count == pageSize
        }
        return PSAPicklists(
            fields: fields,
            companies: companies.compactMap { company in
                PSAChoice.int(company["id"]).map {
                    PSACompany(id: "\($0)", name: company["name"] as? String ?? company["identifier"] as? String ?? "#\($0)")
                }
            },
            companiesTruncated: more)
    }
}
