import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// Datto's own device alerts, mirrored as `datto-alert` alerts: one per appliance and Datto alert type, raised
/// while Datto lists it and resolved (`cleared-in-datto`) when Datto no longer does.
enum DattoAlertMirror {
    static let type = "datto-alert"

    /// The subject of one mirrored alert: the appliance and Datto's alert type (`d_…/device not seen alert`).
    static func subjectId(tenant: String, serial: String, datto type: String) -> String {
        StableID.device(tenant: tenant, serial: serial) + "/" + String(type.lowercased().prefix(120))
    }

    static func apply(_ list: DattoDeviceAlerts, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let seenAt = list.observedAt ?? now
        var listed: Set<String> = []
        for alert in list.alerts {
            let subject = subjectId(tenant: tenant, serial: list.serialNumber, datto: alert.type)
            guard listed.insert(subject).inserted else { continue }
            let text = describe(alert)
            // Listed again, unchanged: nothing new to say (every poll would otherwise count an occurrence).
            if let open = try AlertRecord.unresolved(type: type, tenant: tenant, subjectId: subject, db), open.lastError == text {
                continue
            }
            try AlertStore.record(
                AlertStore.Occurrence(
                    type: type, severity: .medium, tenant: tenant, subjectId: subject, customer: list.customer,
                    deviceSerial: list.serialNumber, deviceName: list.deviceName, agentVolume: nil, agentName: list.deviceName,
                    seenAt: seenAt, lastError: text, since: alert.triggeredAt),
                now: now, db: db, outbox: outbox)
        }
        let prefix = StableID.device(tenant: tenant, serial: list.serialNumber) + "/"
        let open = try String.fetchAll(
            db.cachedStatement(
                sql:
                    "SELECT agent_id FROM alert WHERE tenant = ? AND type = ? AND substr(agent_id, 1, ?) = ? AND \(AlertRecord.unresolvedSQL)"
            ),
            arguments: [tenant, type, prefix.count, prefix])
        for subject in open where !listed.contains(subject) {
            guard let alert = try AlertRecord.unresolved(type: type, tenant: tenant, subjectId: subject, db) else { continue }
            try AlertStore.resolve(id: alert.id, reason: "cleared-in-datto", by: nil, at: seenAt, now: now, db: db, outbox: outbox)
        }
    }

    /// "Device Not Seen Alert (threshold 60 Minutes), triggered 2026-11-30T10:00:00Z".
    static func describe(_ alert: DattoDeviceAlerts.Alert) -> String {
        var text = alert.type
        if let threshold = alert.threshold { text += " (threshold \(threshold)\(alert.unit.map { " \($0)" } ?? ""))" }
        if let triggered = alert.triggeredAt { text += ", triggered \(BusJSON.formatTimestamp(triggered))" }
        return text
    }
}
