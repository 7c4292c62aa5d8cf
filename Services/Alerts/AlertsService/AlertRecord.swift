import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// One row of `alert`: a problem, with its state and what the bus has been told about it.
struct AlertRecord: FetchableRecord {
    /// The condition every query for a live alert repeats word for word: SQLite uses the partial unique index
    /// `alert_one_open` only for a WHERE that contains its own terms.
    static let unresolvedSQL = "state != '\(AlertState.resolved.rawValue)'"

    var id: Int64
    var tenant: String
    var type: String
    var severity: AlertSeverity
    var state: AlertState
    var subjectId: String
    var customer: CustomerRef
    var deviceSerial: String
    /// Empty for an appliance-wide alert (device-offline).
    var agentVolume: String
    var agentName: String
    var occurrences: Int
    var firstSeenAt: Date
    var lastSeenAt: Date
    var lastError: String?
    var failedNights: Int?
    /// Whether `alert.raised` went out (a condition muted from the start raises nothing).
    var raised: Bool
    var customerId: String
    var deviceName: String?
    var since: Date?
    var days: Int?
    var acknowledgedAt: Date?
    var acknowledgedBy: String?
    var resolvedAt: Date?
    var resolvedReason: String?
    var resolvedBy: String?
    var note: String?

    /// The columns of a whole alert, in the order `init(columns:)` reads them.
    static let columns = [
        "id", "tenant", "type", "severity", "state", "agent_id", "customer_key", "customer_name", "device_serial", "agent_volume",
        "agent_name", "occurrences", "first_seen_at", "last_seen_at", "last_error", "failed_nights", "raised", "customer_id",
        "device_name", "since", "days", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_reason", "resolved_by", "note"
    ]
    /// Every query for whole alerts starts with this.
    static let select = "SELECT \(columns.joined(separator: ", ")) FROM alert"

    /// A row of a query that starts with `select` (checked: a `SELECT *` would put the columns in the table's order).
    init(row: Row) throws {
        try row.requireColumns(Self.columns, select: Self.select)
        try self.init(columns: row)
    }

    /// Reads the columns `select` lists, by position.
    init(columns row: some StoredColumns) throws {
        id = try row.value(0)
        tenant = try row.value(1)
        type = try row.value(2)
        severity = try row.enumValue(3)
        state = try row.enumValue(4)
        subjectId = try row.value(5)
        customer = CustomerRef(key: try row.value(6), name: try row.value(7))
        deviceSerial = try row.value(8)
        agentVolume = try row.value(9)
        agentName = try row.value(10)
        occurrences = try row.value(11)
        firstSeenAt = try row.value(12)
        lastSeenAt = try row.value(13)
        lastError = try row.optional(14)
        failedNights = try row.optional(15)
        raised = try row.value(16)
        customerId = try row.value(17)
        deviceName = try row.optional(18)
        since = try row.optional(19)
        days = try row.optional(20)
        acknowledgedAt = try row.optional(21)
        acknowledgedBy = try row.optional(22)
        resolvedAt = try row.optional(23)
        resolvedReason = try row.optional(24)
        resolvedBy = try row.optional(25)
        note = try row.optional(26)
    }

    /// As the feed shows it.
    var view: AlertView {
        let isAgent = !agentVolume.isEmpty
        return AlertView(
            id: "al_\(id)", tenant: tenant, type: type, severity: severity, state: state, customerId: customerId,
            customerName: customer.name, subjectId: subjectId, agentId: isAgent ? subjectId : nil, agentName: isAgent ? agentName : nil,
            deviceSerial: deviceSerial, deviceName: deviceName, occurrences: occurrences, firstSeenAt: firstSeenAt,
            lastSeenAt: lastSeenAt, lastError: lastError, failedNightsInARow: failedNights, since: since, days: days,
            acknowledgedAt: acknowledgedAt, acknowledgedBy: acknowledgedBy, resolvedAt: resolvedAt, resolvedReason: resolvedReason,
            resolvedBy: resolvedBy, note: note)
    }

    static func find(id: Int64, _ db: Database) throws -> AlertRecord? {
        let query = try db.cachedStatement(sql: "\(select) WHERE id = ?")
        try query.bind(id)
        return try query.fetchFirst { try AlertRecord(columns: $0) }
    }

    /// The subject's live (not resolved) alert of this type (one at most: the partial unique index `alert_one_open`).
    static func unresolved(type: String, tenant: String, subjectId: String, _ db: Database) throws -> AlertRecord? {
        let query = try db.cachedStatement(sql: "\(select) WHERE tenant = ? AND type = ? AND agent_id = ? AND \(unresolvedSQL)")
        try query.bind(tenant, type, subjectId)
        return try query.fetchFirst { try AlertRecord(columns: $0) }
    }

    /// As published on the bus and answered by the API.
    var snapshot: AlertSnapshot {
        AlertSnapshot(
            alertId: "al_\(id)", type: type, severity: severity, state: state,
            subject: AlertSubject(
                customer: customer, deviceSerial: deviceSerial, agentVolume: agentVolume.isEmpty ? nil : agentVolume,
                agentName: agentVolume.isEmpty ? nil : agentName),
            occurrences: occurrences, firstSeenAt: firstSeenAt, lastSeenAt: lastSeenAt, lastError: lastError,
            failedNightsInARow: failedNights)
    }
}

extension MuteScope: DatabaseValueConvertible {
    /// The `alert` column a mute of this scope matches.
    var alertColumn: String {
        switch self {
        case .agent: "agent_id"
        case .customer: "customer_id"
        }
    }
}
