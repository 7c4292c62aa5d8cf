import Foundation
import GRDB
import VectisAPI
import VectisContracts

/// The feed's filters, validated.
struct AlertFilter: Sendable {
    var states: [AlertState] = []
    var types: [String] = []
    var severities: [AlertSeverity] = []
    var customerId: String?
    var since: Date?
    var limit = 50
    var cursor: Int64?

    /// Reads the query string; a message saying what is wrong for anything it cannot use.
    init(query: [String: String]) throws(FilterError) {
        func list(_ name: String) -> [String] {
            query[name].map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } ?? []
        }
        for text in list("state") {
            guard let state = AlertState(rawValue: text) else {
                throw FilterError("state \(text) is not one of open, acknowledged, muted, resolved.")
            }
            states.append(state)
        }
        for text in list("severity") {
            guard let severity = AlertSeverity(rawValue: text) else {
                throw FilterError("severity \(text) is not one of high, medium, low.")
            }
            severities.append(severity)
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
            anyOf("state", filter.states.map(\.rawValue))
            anyOf("type", filter.types)
            anyOf("severity", filter.severities.map(\.rawValue))
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
            let rows = try AlertRecord.fetchAll(
                db, sql: "\(AlertRecord.select) \(whereClause) ORDER BY id DESC LIMIT ?", arguments: StatementArguments(arguments))
            let page = rows.prefix(filter.limit).map(\.view)
            return AlertPage(alerts: Array(page), nextCursor: rows.count > filter.limit ? page.last?.id : nil)
        }
    }

    /// Every alert not resolved, counted three ways (the dashboard's "open alerts by type").
    func counts() async throws -> AlertCounts {
        try await database.read { db in
            var counts = AlertCounts(unresolved: 0, byType: [:], bySeverity: [:], byState: [:])
            for row in try Row.fetchAll(
                db, sql: "SELECT type, severity, state, COUNT(*) AS n FROM alert WHERE state != 'resolved' GROUP BY type, severity, state")
            {
                let count: Int = row["n"]
                counts.unresolved += count
                counts.byType[row["type"], default: 0] += count
                counts.bySeverity[row["severity"], default: 0] += count
                counts.byState[row["state"], default: 0] += count
            }
            return counts
        }
    }

    func alert(id: Int64) async throws -> AlertView? {
        try await database.read { db in try AlertRecord.find(id: id, db)?.view }
    }
}
