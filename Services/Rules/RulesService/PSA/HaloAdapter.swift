import Foundation
import Synchronization
import VectisAPI
import VectisContracts
import VectisRuntime

/// HaloPSA: OAuth2 client credentials (token cached until shortly before it expires); tickets and actions are
/// posted as JSON arrays; an action needs an outcome. The dedupe key is written into the ticket details.
struct HaloAdapter: PSAAdapter {
    let kind = PSAKind.halopsa
    let settings: PSASettings
    let secrets: PSASecrets
    let http: PSAHTTPClient
    let token = TokenCache()

    final class TokenCache: Sendable { let value = Mutex<(token: String, expires: ContinuousClock.Instant)?>(nil) }

    var instance: String {
        let configured = settings.instanceURL ?? ""
        return configured.hasSuffix("/") ? String(configured.dropLast()) : configured
    }

    /// `<instance>/<path>`; settings are validated when the rule is saved, so a failure means a hand-edited row.
    func url(_ path: String) throws(PSAError) -> URL {
        guard UpstreamPolicy.baseAddressProblem(instance) == nil, let url = URL(string: "\(instance)/\(path)"), url.host != nil else {
            throw .rejected(status: 0, message: "instanceURL \(instance) is not a usable URL")
        }
        return url
    }

    func headers() async throws(PSAError) -> [String: String] {
        if let cached = token.value.withLock({ $0 }), cached.expires > .now { return ["Authorization": "Bearer \(cached.token)"] }
        var components = URLComponents(url: try url("auth/token"), resolvingAgainstBaseURL: false)!
        if let tenant = settings.tenant { components.queryItems = [URLQueryItem(name: "tenant", value: tenant)] }
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text }
        let form =
            "grant_type=client_credentials&client_id=\(encode(settings.clientId ?? ""))"
            + "&client_secret=\(encode(secrets.clientSecret ?? ""))&scope=all"
        let answer = try await http.send("POST", components.url!, headers: [:], form: form)
        guard let object = answer as? [String: Any], let access = object["access_token"] as? String else {
            throw .unauthorized(status: 200, message: "no access_token in the token answer")
        }
        let lifetime = Self.tokenLifetime(object["expires_in"])
        token.value.withLock { $0 = (access, .now + .seconds(lifetime - 60)) }
        return ["Authorization": "Bearer \(access)"]
    }

    /// `expires_in` in seconds, clamped to 120 s…1 day: `lifetime - 60` overflowed on Int.min, and no token lives
    /// longer. Absent or not a whole number: an hour.
    static func tokenLifetime(_ value: Any?) -> Int {
        min(max((value as? Int) ?? 3_600, 120), 86_400)
    }

    /// `[<dedupe key>]` in the ticket's details; keys already start with `vectis:` (earlier versions wrote
    /// `[vectis:vectis:…]`, which the search below still finds).
    func marker(_ key: String) -> String { key.hasPrefix("vectis:") ? "[\(key)]" : "[vectis:\(key)]" }

    func createTicket(_ ticket: NewTicket) async throws(PSAError) -> String {
        var object: [String: Any] = [
            "client_id": Int(ticket.companyId) ?? 0, "summary": ticket.summary,
            // Everything from Datto (agent names, error messages) is escaped: it arrives in the ticket as text.
            "details_html": HTMLText.paragraph(ticket.details) + HTMLText.paragraph(marker(ticket.dedupeKey)),
            "tickettype_id": settings.ticketTypeId ?? 0, "donotapplytemplateintheapi": true
        ]
        let account = "halo:" + instance
        if let priority = await PriorityLadder.choose(settings, for: ticket.agentClass, account: account, order: priorityOrder) {
            object["priority_id"] = priority
        }
        let workstation = ticket.agentClass == .workstation
        if let impact = workstation ? settings.workstationImpact ?? settings.impact : settings.impact { object["impact"] = impact }
        if let urgency = workstation ? settings.workstationUrgency ?? settings.urgency : settings.urgency { object["urgency"] = urgency }
        let created = try await http.send("POST", try url("api/Tickets"), headers: try await headers(), json: [object])
        let first = (created as? [String: Any]) ?? (created as? [[String: Any]])?.first
        guard let id = first?["id"] else { throw .transient(status: nil, message: "create answered without an id") }
        return "\(id)"
    }

    /// `api/Priority` in the order listed (per SLA; each id once), most urgent first.
    func priorityOrder() async throws(PSAError) -> [Int] {
        let ids = PSAChoice.list(
            try await http.send("GET", try url("api/Priority"), headers: try await headers()), idKeys: ["priorityid", "id"]
        )
        .map(\.id)
        var seen: Set<Int> = []
        return ids.filter { seen.insert($0).inserted }
    }

    func findOpenTicket(dedupeKey: String, companyId: String) async throws(PSAError) -> String? {
        var components = URLComponents(url: try url("api/Tickets"), resolvingAgainstBaseURL: false)!
        components.queryItems = [
            URLQueryItem(name: "client_id", value: companyId), URLQueryItem(name: "open_only", value: "true"),
            // The key with its closing bracket: in both marker forms, and `…:ru_1]` is not part of `…:ru_12]`.
            URLQueryItem(name: "search", value: String(marker(dedupeKey).dropFirst()))
        ]
        let found = try await http.send("GET", components.url!, headers: try await headers())
        return (((found as? [String: Any])?["tickets"] as? [[String: Any]])?.first?["id"]).map { "\($0)" }
    }

    func addNote(ticketId: String, text: String) async throws(PSAError) {
        let action: [String: Any] = [
            "ticket_id": Int(ticketId) ?? 0, "outcome_id": settings.noteOutcomeId ?? 7, "hiddenfromuser": true,
            "note_html": HTMLText.paragraph(text)
        ]
        _ = try await http.send("POST", try url("api/Actions"), headers: try await headers(), json: [action])
    }

    func closeTicket(ticketId: String) async throws(PSAError) {
        _ = try await http.send(
            "POST", try url("api/Tickets"), headers: try await headers(),
            json: [["id": Int(ticketId) ?? 0, "status_id": settings.closedStatusId ?? 9]])
    }

    /// `GET api/Tickets/{id}`: `hasbeenclosed` and the status; 404 when it was deleted.
    func readTicket(ticketId: String) async throws(PSAError) -> PSATicketReading {
        let answer: Any?
        do {
            answer = try await http.send("GET", try url("api/Tickets/\(ticketId)"), headers: try await headers())
        } catch {
            return try PSATicketReading.gone(error)
        }
        guard let ticket = answer as? [String: Any], let closed = ticket["hasbeenclosed"] as? Bool else {
            throw .transient(status: 200, message: "the ticket answer has no hasbeenclosed")
        }
        var name = ticket["status_name"] as? String
        if name == nil, let status = PSAChoice.int(ticket["status_id"]) { name = await statusName(status) }
        return PSATicketReading(state: closed ? .closed : .open, statusName: name)
    }

    /// `api/Status` names, read once an hour per instance.
    func statusName(_ status: Int) async -> String {
        let labels = await Self.statusLabels.value(for: instance) { () async -> [Int: String]? in
            guard let authorization = try? await headers(),
                let list = try? await http.send("GET", try url("api/Status"), headers: authorization)
            else { return nil }
            var labels: [Int: String] = [:]
            for choice in PSAChoice.list(list).prefix(500) { labels[choice.id] = String(choice.name.prefix(80)) }
            return labels
        }
        return labels?[status] ?? "status \(status)"
    }

    static let statusLabels = PSALookupCache<[Int: String]>()

    func reopenTicket(ticketId: String) async throws(PSAError) {
        _ = try await http.send(
            "POST", try url("api/Tickets"), headers: try await headers(),
            json: [["id": Int(ticketId) ?? 0, "status_id": settings.reopenStatusId ?? 1]])
    }

    /// The ticket's latest 100 actions.
    func hasNote(ticketId: String, marker: String) async throws(PSAError) -> Bool {
        var components = URLComponents(url: try url("api/Actions"), resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "ticket_id", value: ticketId), URLQueryItem(name: "count", value: "100")]
        let answer = try await http.send("GET", components.url!, headers: try await headers())
        let actions = ((answer as? [String: Any])?["actions"] as? [[String: Any]]) ?? []
        return actions.contains { action in
            ["note_html", "note"].contains { (action[$0] as? String)?.contains(marker) == true }
        }
    }

    /// Ticket types, priorities (listed per SLA; each id once), statuses, action outcomes, and the active clients.
    func picklists() async throws(PSAError) -> PSAPicklists {
        let authorization = try await headers()
        func get(_ path: String, _ query: [URLQueryItem] = []) async throws(PSAError) -> Any? {
            var components = URLComponents(url: try url(path), resolvingAgainstBaseURL: false)!
            if !query.isEmpty { components.queryItems = query }
            return try await http.send("GET", components.url!, headers: authorization)
        }
        let statuses = PSAChoice.list(try await get("api/Status"))
        let priorities = PSAChoice.list(try await get("api/Priority"), idKeys: ["priorityid", "id"])
        let fields = [
            "ticketTypeId": PSAChoice.list(try await get("api/TicketType")),
            "priorityId": priorities, "workstationPriorityId": priorities, "sharePriorityId": priorities,
            "noteOutcomeId": PSAChoice.list(try await get("api/Outcome"), nameKeys: ["outcome", "name"]),
            "closedStatusId": statuses, "reopenStatusId": statuses
        ]
        // Pages of 999 (as CIPP asks for them) until `record_count` is reached.
        let pageSize = 999
        var clients: [[String: Any]] = []
        var total = 0
        for page in 1...PSAPicklists.maxCompanyPages {
            let answer =
                try await get(
                    "api/Client",
                    [
                        URLQueryItem(name: "pageinate", value: "true"), URLQueryItem(name: "page_size", value: "\(pageSize)"),
                        URLQueryItem(name: "page_no", value: "\(page)"), URLQueryItem(name: "includeinactive", value: "false")
                    ]) as? [String: Any]
            let batch = (answer?["clients"] as? [[String: Any]]) ?? []
            clients += batch
            total = PSAChoice.int(answer?["record_count"]) ?? clients.count
            if batch.isEmpty || clients.count >= total { break }
        }
        return PSAPicklists(
            fields: fields,
            companies: clients.compactMap { client in
                PSAChoice.int(client["id"]).map { PSACompany(id: "\($0)", name: client["name"] as? String ?? "#\($0)") }
            },
            companiesTruncated: total > clients.count)
    }
}
