import Foundation
import Synchronization
import VectisAPI
import VectisContracts
import VectisRuntime

/// Autotask PSA REST v1.0: the zone is found from the API user, headers carry the integration code, user and
/// secret; a create answers only `{"itemId"}`; the dedupe key goes in `externalID`.
struct AutotaskAdapter: PSAAdapter {
    let kind = PSAKind.autotask
    let settings: PSASettings
    let secrets: PSASecrets
    let http: PSAHTTPClient
    /// The zone URL, looked up once per adapter (per rule) and kept.
    let zone = ZoneCache()

    final class ZoneCache: Sendable { let url = Mutex<URL?>(nil) }

    var headers: [String: String] {
        ["ApiIntegrationCode": secrets.integrationCode ?? "", "UserName": settings.username ?? "", "Secret": secrets.secret ?? ""]
    }

    func base() async throws(PSAError) -> URL {
        if let cached = zone.url.withLock({ $0 }) { return cached }
        let lookup = settings.zoneLookupURL ?? "https://webservices2.autotask.net/atservicesrest/v1.0/"
        guard UpstreamPolicy.baseAddressProblem(lookup) == nil,
            var components = URLComponents(string: lookup.hasSuffix("/") ? lookup + "zoneInformation" : lookup + "/zoneInformation"),
            components.host != nil
        else { throw .rejected(status: 0, message: "zoneLookupURL \(lookup) is not a usable URL") }
        components.queryItems = [URLQueryItem(name: "user", value: settings.username)]
        // Zone lookup needs no credentials; a wrong user answers 500, which is not worth retrying.
        let answer: Any?
        do {
            answer = try await http.send("GET", components.url!, headers: [:], validationErrorsOn500: true)
        }
        guard let text = (answer as? [String: Any])?["url"] as? String, let url = URL(string: text + "V1.0/") else {
            throw .rejected(status: 200, message: "zoneInformation gave no url for user \(settings.username ?? "")")
        }
        // The zone receives the API user's secret: only an Autotask address over https is believed.
        guard Self.isAutotaskZone(url, lookup: URL(string: lookup), upstreams: http.upstreams) else {
            throw .rejected(
                status: 200,
                message: "zoneInformation named a zone outside Autotask (\(LogText.cut(url.host ?? text, maxBytes: 80))); not used")
        }
        zone.url.withLock { $0 = url }
        return url
    }

    /// An https address on autotask.net (or, where private upstreams are allowed — the sandbox — the lookup's own host).
    static func isAutotaskZone(_ url: URL, lookup: URL?, upstreams: UpstreamPolicy) -> Bool {
        guard url.user == nil, url.password == nil, url.query == nil, url.fragment == nil, let host = url.host?.lowercased() else {
            return false
        }
        if url.scheme?.lowercased() == "https", host == "autotask.net" || host.hasSuffix(".autotask.net") { return true }
        return upstreams.allowPrivateAddresses && host == lookup?.host?.lowercased()
    }

    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && a.port == b.port
            && a.user == nil && a.password == nil
    }

    func createTicket(_ ticket: NewTicket) async throws(PSAError) -> String {
        let priority = await PriorityLadder.choose(
            settings, for: ticket.agentClass, account: "at:\(settings.username ?? "")", order: priorityOrder)
        let body: [String: Any] = [
            "companyID": Int(ticket.companyId) ?? 0, "title": String(ticket.summary.prefix(255)), "description": ticket.details,
            "status": settings.statusId ?? 1, "priority": priority ?? 2, "queueID": settings.queueId ?? 0,
            "externalID": ticket.dedupeKey
        ]
        let created = try await http.send(
            "POST", try await base().appendingPathComponent("Tickets"), headers: headers, json: body,
            validationErrorsOn500: true)
        guard let id = (created as? [String: Any])?["itemId"] else {
            throw .transient(status: nil, message: "create answered without itemId")
        }
        return "\(id)"
    }

    /// The priority pick list's active values by `sortOrder`, most urgent first.
    func priorityOrder() async throws(PSAError) -> [Int] {
        let information = try await http.send(
            "GET", try await base().appendingPathComponent("Tickets/entityInformation/fields"), headers: headers,
            validationErrorsOn500: true)
        let described = ((information as? [String: Any])?["fields"] as? [[String: Any]]) ?? []
        let values = described.first { ($0["name"] as? String)?.lowercased() == "priority" }?["picklistValues"] as? [[String: Any]] ?? []
        return values.filter { $0["isActive"] as? Bool != false }
            .sorted { (PSAChoice.int($0["sortOrder"]) ?? 0) < (PSAChoice.int($1["sortOrder"]) ?? 0) }
            .compactMap { PSAChoice.int($0["value"]) }
    }

    func findOpenTicket(dedupeKey: String, companyId: String) async throws(PSAError) -> String? {
        let query: [String: Any] = [
            "MaxRecords": 10, "IncludeFields": ["id", "ticketNumber", "title", "status"],
            "filter": [
                ["op": "eq", "field": "companyID", "value": Int(companyId) ?? 0],
                ["op": "noteq", "field": "status", "value": settings.completeStatusId ?? 5],
                ["op": "eq", "field": "externalID", "value": dedupeKey]
            ]
        ]
        let found = try await http.send(
            "POST", try await base().appendingPathComponent("Tickets/query"), headers: headers, json: query,
            validationErrorsOn500: true)
        return (((found as? [String: Any])?["items"] as? [[String: Any]])?.first?["id"]).map { "\($0)" }
    }

    func addNote(ticketId: String, text: String) async throws(PSAError) {
        let note: [String: Any] = [
            "ticketID": Int(ticketId) ?? 0, "title": String(text.prefix(250).split(separator: "\n").first ?? "Vectis"),
            "description": text, "noteType": 1, "publish": 1
        ]
        _ = try await http.send(
            "POST", try await base().appendingPathComponent("Tickets/\(ticketId)/Notes"), headers: headers, json: note,
            validationErrorsOn500: true)
    }

    func closeTicket(ticketId: String) async throws(PSAError) {
        _ = try await http.send(
            "PATCH", try await base().appendingPathComponent("Tickets"), headers: headers,
            json: ["id": Int(ticketId) ?? 0, "status": settings.completeStatusId ?? 5, "resolution": "Backups recovered (Vectis)."],
            validationErrorsOn500: true)
    }

    /// `GET Tickets/{id}`: `{"item": null}` when there is no such ticket; closed when its status is the Complete value.
    func readTicket(ticketId: String) async throws(PSAError) -> PSATicketReading {
        let answer: Any?
        do {
            answer = try await http.send(
                "GET", try await base().appendingPathComponent("Tickets/\(ticketId)"), headers: headers, validationErrorsOn500: true)
        } catch {
            return try PSATicketReading.gone(error)
        }
        guard let object = answer as? [String: Any], object.keys.contains("item") else {
            throw .transient(status: 200, message: "the ticket answer has no item")
        }
        guard let item = object["item"] as? [String: Any] else { return .deleted }
        guard let status = PSAChoice.int(item["status"]) else { throw .transient(status: 200, message: "the ticket answer has no status") }
        let closed = status == (settings.completeStatusId ?? 5)
        return PSATicketReading(state: closed ? .closed : .open, statusName: await statusName(status))
    }

    /// The status pick list's label, read once an hour per API user.
    func statusName(_ status: Int) async -> String {
        let labels = await Self.statusLabels.value(for: settings.username ?? "") { () async -> [Int: String]? in
            guard
                let information = try? await http.send(
                    "GET", try await base().appendingPathComponent("Tickets/entityInformation/fields"), headers: headers,
                    validationErrorsOn500: true)
            else { return nil }
            let described = ((information as? [String: Any])?["fields"] as? [[String: Any]]) ?? []
            let values =
                described.first { ($0["name"] as? String)?.lowercased() == "status" }?["picklistValues"] as? [[String: Any]] ?? []
            var labels: [Int: String] = [:]
            for value in values.prefix(500) {
                if let id = PSAChoice.int(value["value"]), let label = value["label"] as? String { labels[id] = String(label.prefix(80)) }
            }
            return labels
        }
        return labels?[status] ?? "status \(status)"
    }

    static let statusLabels = PSALookupCache<[Int: String]>()

    func reopenTicket(ticketId: String) async throws(PSAError) {
        _ = try await http.send(
            "PATCH", try await base().appendingPathComponent("Tickets"), headers: headers,
            json: ["id": Int(ticketId) ?? 0, "status": settings.reopenStatusId ?? settings.statusId ?? 1], validationErrorsOn500: true)
    }

    /// `TicketNotes/query` for the ticket (up to 500 notes).
    func hasNote(ticketId: String, marker: String) async throws(PSAError) -> Bool {
        let query: [String: Any] = [
            "MaxRecords": 500, "IncludeFields": ["id", "description"],
            "filter": [["op": "eq", "field": "ticketID", "value": Int(ticketId) ?? 0]]
        ]
        let found = try await http.send(
            "POST", try await base().appendingPathComponent("TicketNotes/query"), headers: headers, json: query,
            validationErrorsOn500: true)
        let items = ((found as? [String: Any])?["items"] as? [[String: Any]]) ?? []
        return items.contains { ($0["description"] as? String)?.contains(marker) == true }
    }

    /// Queues, statuses and priorities from the ticket entity's field information (the tenant's own pick lists,
    /// active values only), and the active companies.
    func picklists() async throws(PSAError) -> PSAPicklists {
        let information = try await http.send(
            "GET", try await base().appendingPathComponent("Tickets/entityInformation/fields"), headers: headers,
            validationErrorsOn500: true)
        let described = ((information as? [String: Any])?["fields"] as? [[String: Any]]) ?? []
        func picklist(_ field: String) -> [PSAChoice] {
            let values =
                described.first { ($0["name"] as? String)?.lowercased() == field.lowercased() }?["picklistValues"] as? [[String: Any]] ?? []
            return PSAChoice.list(values.filter { $0["isActive"] as? Bool != false }, idKeys: ["value"], nameKeys: ["label"])
        }
        let statuses = picklist("status")
        let fields = [
            "queueId": picklist("queueID"), "statusId": statuses, "completeStatusId": statuses, "priorityId": picklist("priority"),
            "reopenStatusId": statuses, "workstationPriorityId": picklist("priority"), "sharePriorityId": picklist("priority")
        ]
        // Pages of 500 (Autotask's most), followed by `pageDetails.nextPageUrl`.
        let query: [String: Any] = [
            "MaxRecords": 500, "IncludeFields": ["id", "companyName"],
            "filter": [["op": "eq", "field": "isActive", "value": true]]
        ]
        var page =
            try await http.send(
                "POST", try await base().appendingPathComponent("Companies/query"), headers: headers, json: query,
                validationErrorsOn500: true) as? [String: Any]
        var companies: [[String: Any]] = []
        var nextPage: URL?
        for number in 1...(PSAPicklists.maxCompanyPages * 2) {
            companies += (page?["items"] as? [[String: Any]]) ?? []
            nextPage = ((page?["pageDetails"] as? [String: Any])?["nextPageUrl"] as? String).flatMap(URL.init(string:))
            // The next page gets the credentials too: only on the zone's own origin.
            if let next = nextPage, !Self.sameOrigin(next, try await base()) { break }
            guard let next = nextPage, number < PSAPicklists.maxCompanyPages * 2 else { break }
            page = try await http.send("GET", next, headers: headers, validationErrorsOn500: true) as? [String: Any]
        }
        return PSAPicklists(
            fields: fields,
            companies: companies.compactMap { company in
                PSAChoice.int(company["id"]).map { PSACompany(id: "\($0)", name: company["companyName"] as? String ?? "#\($0)") }
            },
            companiesTruncated: nextPage != nil)
    }
}
