import Foundation
import GRDB
import VectisContracts

/// An alert as the feed shows it.
struct AlertView: Codable, Sendable {
    var id: String
    var tenant: String
    var type: String
    var severity: String
    var state: String
    var customerId: String
    var customerName: String
    /// What the alert is about: the agent (`a_…`), or the appliance (`d_…`) for `device-offline`.
    var subjectId: String
    /// Absent for an appliance-wide alert.
    var agentId: String?
    var agentName: String?
    var deviceSerial: String
    var deviceName: String?
    var occurrences: Int
    var firstSeenAt: Date
    var lastSeenAt: Date
    var lastError: String?
    var failedNightsInARow: Int?
    /// Silent failures: when the clock started (last success, last check-in, latest offsite point) and the days it has lasted.
    var since: Date?
    var days: Int?
    var acknowledgedAt: Date?
    var acknowledgedBy: String?
    var resolvedAt: Date?
    var resolvedReason: String?
    var resolvedBy: String?
    /// What the rules engine had to say, e.g. that no ticket could be opened for lack of a PSA mapping.
    var note: String?

    init(_ row: Row) {
        func date(_ column: String) -> Date? { (row[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
        id = "al_\(row["id"] as Int64)"
        tenant = row["tenant"]
        type = row["type"]
        severity = row["severity"]
        state = row["state"]
        customerId = row["customer_id"]
        customerName = row["customer_name"]
        subjectId = row["agent_id"]
        let isAgent = !(row["agent_volume"] as String).isEmpty
        agentId = isAgent ? row["agent_id"] : nil
        agentName = isAgent ? row["agent_name"] : nil
        deviceSerial = row["device_serial"]
        deviceName = row["device_name"]
        occurrences = row["occurrences"]
        firstSeenAt = Date(timeIntervalSince1970: row["first_seen_at"])
        lastSeenAt = Date(timeIntervalSince1970: row["last_seen_at"])
        lastError = row["last_error"]
        failedNightsInARow = row["failed_nights"]
        since = date("since")
        days = row["days"]
        acknowledgedAt = date("acknowledged_at")
        acknowledgedBy = row["acknowledged_by"]
        resolvedAt = date("resolved_at")
        resolvedReason = row["resolved_reason"]
        resolvedBy = row["resolved_by"]
        note = row["note"]
    }
}

struct AlertPage: Codable, Sendable {
    var alerts: [AlertView]
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    var nextCursor: String?
}

/// The feed's filters, validated.
struct AlertFilter: Sendable {
    var states: [String] = []
    var types: [String] = []
    var severities: [String] = []
    var customerId: String?
    var since: Date?
    var limit = 50
    var cursor: Int64?

    static let knownStates: Set = ["open", "acknowledged", "muted", "resolved"]
    static let knownSeverities: Set = ["high", "medium", "low"]

    /// Reads the query string; a message saying what is wrong for anything it cannot use.
    init(query: [String: String]) throws(FilterError) {
        func list(_ name: String) -> [String] {
            query[name].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
        }
        states = list("state")
        if let bad = states.first(where: { !Self.knownStates.contains($0) }) {
            throw FilterError("state \(bad) is not one of open, acknowledged, muted, resolved.")
        }
        severities = list("severity")
        if let bad = severities.first(where: { !Self.knownSeverities.contains($0) }) {
            throw FilterError("severity \(bad) is not one of high, medium, low.")
        }
        types = list("type")
        customerId = query["customer"]
        if let text = query["since"] {
            guard let date = BusJSON.parseTimestamp(text) else { throw FilterError("since must be an ISO-8601 timestamp.") }
            since = date
        }
        if let text = query["limit"] {
            guard let value = Int(text), (1...500).contains(value) else { throw FilterError("limit must be a whole number from 1 to 500.") }
            limit = value
        }
        if let text = query["cursor"] {
            guard let value = Int64(text.hasPrefix("al_") ? String(text.dropFirst(3)) : text), value > 0 else {
                throw FilterError("cursor must be the nextCursor of a previous page.")
            }
            cursor = value
        }
    }
}

struct FilterError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

struct AlertQueries: Sendable {
    let database: DatabasePool

    func page(_ filter: AlertFilter) async throws -> AlertPage {
        try await database.read { db in
            var clauses: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            func anyOf(_ column: String, _ values: [String]) {
                guard !values.isEmpty else { return }
                clauses.append("\(column) IN (\(values.map { _ in "?" }.joined(separator: ",")))")
                arguments += values
            }
            anyOf("state", filter.states)
            anyOf("type", filter.types)
            anyOf("severity", filter.severities)
            if let customer = filter.customerId {
                clauses.append("customer_id = ?")
                arguments.append(customer)
            }
            if let since = filter.since {
                clauses.append("last_seen_at >= ?")
                arguments.append(since.timeIntervalSince1970)
            }
            if let cursor = filter.cursor {
                clauses.append("id < ?")
                arguments.append(cursor)
            }
            let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            arguments.append(filter.limit + 1)
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM alert \(whereClause) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(arguments))
            let page = rows.prefix(filter.limit).map(AlertView.init)
            return AlertPage(alerts: Array(page), nextCursor: rows.count > filter.limit ? page.last?.id : nil)
        }
    }

    func alert(id: Int64) async throws -> AlertView? {
        try await database.read { db in try Row.fetchOne(db, sql: "SELECT * FROM alert WHERE id = ?", arguments: [id]).map(AlertView.init) }
    }
}
