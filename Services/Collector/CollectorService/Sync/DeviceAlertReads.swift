import Foundation
import GRDB
import VectisContracts

/// Which devices' own Datto alerts a sync reads, and what it remembers about them.
///
/// Datto has no fleet-wide alert route, so every read costs a request per device. Devices with `alertCount` 0 cost
/// nothing: their alerts are known to be none (and published as cleared if they had some). Of the others, the
/// least recently read go first, within a bounded share of a scheduled poll's budget (`share`), so the backup runs
/// that detect failures keep the rest. A scheduled poll reads again only a device whose `alertCount` changed or
/// whose list is older than `rereadAfter`: an unchanged count seldom hides a change.
enum DeviceAlertReads {
    /// The most of a budgeted poll spent on alert reads.
    static let share = 0.1
    /// How long a scheduled poll trusts an appliance's alert list while its `alertCount` stays the same.
    static let rereadAfter: TimeInterval = 3_600

    struct Plan: Equatable {
        /// Devices to read `/alert` for, in order.
        var read: [String]
        /// Devices whose alerts are now none without a read (their `alertCount` fell to 0).
        var cleared: [String]
    }

    /// `alertCounts`: each listed device's `alertCount` (nil when Datto did not say: read it like one with alerts).
    static func plan(alertCounts: [String: Int?], stored: [String: (count: Int, readAt: Date)], budget: Int?, now: Date) -> Plan {
        let withAlerts = alertCounts.filter { serial, count in
            guard let count, count > 0 else { return false }
            guard budget != nil, let known = stored[serial] else { return true }
            return known.count != count || now.timeIntervalSince(known.readAt) >= rereadAfter
        }.map(\.key)
        let ordered = withAlerts.sorted { (stored[$0]?.readAt ?? .distantPast, $0) < (stored[$1]?.readAt ?? .distantPast, $1) }
        let limit = budget.map { max(1, Int(Double($0) * share)) } ?? ordered.count
        let cleared = alertCounts.filter { $0.value == 0 && (stored[$0.key]?.count ?? 0) > 0 }.map(\.key).sorted()
        return Plan(read: Array(ordered.prefix(limit)), cleared: cleared)
    }

    static func stored(tenant: String, _ db: Database) throws -> [String: (count: Int, readAt: Date)] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT serial_number, count, read_at FROM device_alerts WHERE tenant = ?"), arguments: [tenant]
        )
        .reduce(into: [:]) { map, row in map[row["serial_number"]] = (row["count"], row["read_at"]) }
    }

    static func save(tenant: String, serial: String, count: Int, readAt: Date, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO device_alerts (tenant, serial_number, count, read_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (tenant, serial_number) DO UPDATE SET count = excluded.count, read_at = excluded.read_at
                """
        ).execute(arguments: [tenant, serial, count, readAt.timeIntervalSince1970])
    }
}
