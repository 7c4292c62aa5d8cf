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

    init(row: Row) throws {
        id = row["id"]
        tenant = row["tenant"]
        type = row["type"]
        severity = try row.decodeValue(AlertSeverity.self, forColumn: "severity")
        state = try row.decodeValue(AlertState.self, forColumn: "state")
        subjectId = row["agent_id"]
        customer = CustomerRef(key: row["customer_key"], name: row["customer_name"])
        deviceSerial = row["device_serial"]
        agentVolume = row["agent_volume"]
        agentName = row["agent_name"]
        occurrences = row["occurrences"]
        firstSeenAt = row["first_seen_at"]
        lastSeenAt = row["last_seen_at"]
        lastError = row["last_error"]
        failedNights = row["failed_nights"]
        raised = row["raised"]
        customerId = row["customer_id"]
        deviceName = row["device_name"]
        since = row["since"]
        days = row["days"]
        acknowledgedAt = row["acknowledged_at"]
        acknowledgedBy = row["acknowledged_by"]
        resolvedAt = row["resolved_at"]
        resolvedReason = row["resolved_reason"]
        resolvedBy = row["resolved_by"]
        note = row["note"]
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
        try AlertRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM alert WHERE id = ?"), arguments: [id])
    }

    /// The subject's live (not resolved) alert of this type.
    static func unresolved(type: String, tenant: String, subjectId: String, _ db: Database) throws -> AlertRecord? {
        try AlertRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM alert WHERE tenant = ? AND type = ? AND agent_id = ? AND \(unresolvedSQL)"),
            arguments: [tenant, type, subjectId])
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
