import Foundation
import GRDB
import VectisContracts

/// Marks the nights a missed-backup or appliance-offline condition held on its agents' nights — the grid's
/// `missed` and `offline` cells, and nights a backup was expected for the rates. Run after each silence check;
/// each condition remembers the last night marked, so a night is marked once, and a condition raised late marks
/// the nights back to when it began (at most `maxNights`).
enum SilentNights {
    static let maxNights = 90

    private struct Pending: FetchableRecord {
        var id: Int64
        var tenant: String
        var kind: BackupConditionChanged.Kind
        var subjectId: String
        var deviceSerial: String
        var customerId: String
        var since: Date
        var markedNight: String?

        init(row: Row) {
            id = row["id"]
            tenant = row["tenant"]
            kind = BackupConditionChanged.Kind(rawValue: row["kind"]) ?? .backupMissed
            subjectId = row["subject_id"]
            deviceSerial = row["device_serial"]
            customerId = row["customer_id"]
            since = row["since"]
            markedNight = row["marked_night"]
        }
    }

    private static let sql = """
        SELECT id, tenant, kind, subject_id, device_serial, customer_id, since, marked_night FROM condition
        WHERE ended_at IS NULL AND kind IN ('\(BackupConditionChanged.Kind.backupMissed.rawValue)', '\(BackupConditionChanged.Kind.deviceOffline.rawValue)')
        """

    /// Marks what is new since the last run; returns the conditions that marked nights.
    @discardableResult
    static func mark(nights settings: NightSettings, now: Date, database: DatabasePool) async throws -> Int {
        @Sendable func tonight(_ tenant: String) -> String { settings.calendar(for: tenant).night(of: now) }
        let pending = try await database.read { db in
            try Pending.fetchAll(db.cachedStatement(sql: sql)).filter { $0.markedNight != tonight($0.tenant) }
        }
        guard !pending.isEmpty else { return 0 }
        return try await database.write { db in
            for condition in pending {
                let last = tonight(condition.tenant)
                let first =
                    [
                        settings.calendar(for: condition.tenant).night(of: condition.since),
                        condition.markedNight.flatMap { NightCalendar.night($0, adding: 1) },
                        NightCalendar.night(last, adding: 1 - maxNights)
                    ].compactMap { $0 }.max() ?? last
                let nights = NightCalendar.nights(endingWith: last, count: maxNights).filter { $0 >= first }
                let agents: [(id: String, customerId: String)]
                switch condition.kind {
                case .deviceOffline:
                    agents = try Row.fetchAll(
                        db.cachedStatement(
                            sql: "SELECT id, customer_id FROM agent WHERE tenant = ? AND device_serial = ? AND is_removed = 0"),
                        arguments: [condition.tenant, condition.deviceSerial]
                    ).map { ($0["id"], $0["customer_id"]) }
                default:
                    agents = [(condition.subjectId, condition.customerId)]
                }
                for agent in agents {
                    try NightRollup.markSilent(
                        condition.kind == .deviceOffline ? .offline : .missed, agentId: agent.id, tenant: condition.tenant,
                        customerId: agent.customerId, nights: nights, db)
                }
                try db.cachedStatement(sql: "UPDATE condition SET marked_night = ? WHERE id = ?").execute(arguments: [last, condition.id])
            }
            return pending.count
        }
    }
}
