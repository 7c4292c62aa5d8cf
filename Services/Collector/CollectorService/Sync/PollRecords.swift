import Foundation
import GRDB

/// What a poll remembers between polls: when each device was read and falls due (`device_schedule`), which runs
/// have been published (`observed_run`), and whether each agent's latest run failed (`agent_state`).
extension DeviceSchedule: FetchableRecord {
    init(row: Row) {
        lastReadAt = row["last_read_at"]
        nextDueAt = row["next_due_at"]
        failing = row["failing"]
    }

    /// The tenant's schedules by serial number.
    static func all(tenant: String, _ db: Database) throws -> [String: DeviceSchedule] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM device_schedule WHERE tenant = ?"), arguments: [tenant])
            .reduce(into: [:]) { map, row in map[row["serial_number"]] = DeviceSchedule(row: row) }
    }

    /// Read now; next due as planned (a day later when no agent's cadence says otherwise).
    static func save(tenant: String, serial: String, readAt: Date, nextDueAt: Date?, failing: Bool, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO device_schedule (tenant, serial_number, last_read_at, next_due_at, failing) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (tenant, serial_number) DO UPDATE SET
                    last_read_at = excluded.last_read_at, next_due_at = excluded.next_due_at, failing = excluded.failing
                """
        ).execute(arguments: [
            tenant, serial, readAt.timeIntervalSince1970, (nextDueAt ?? readAt + 86_400).timeIntervalSince1970, failing
        ])
    }
}

enum ObservedRuns {
    /// Records a run as published; false when it was already (a re-poll, a restart).
    static func firstSeen(tenant: String, serial: String, volume: String, runAt: Date, at now: Date, _ db: Database) throws -> Bool {
        try db.cachedStatement(
            sql: "INSERT OR IGNORE INTO observed_run (tenant, serial_number, volume, run_at, observed_at) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [tenant, serial, volume, runAt.timeIntervalSince1970, now.timeIntervalSince1970])
        return db.changesCount == 1
    }

    /// Runs published for a tenant so far.
    static func count(tenant: String, _ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM observed_run WHERE tenant = ?", arguments: [tenant]) ?? 0
    }

    /// Whether the agent's latest run failed, as of this read.
    static func saveAgentState(tenant: String, serial: String, volume: String, failing: Bool, readAt: Date, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO agent_state (tenant, serial_number, volume, failing, read_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (tenant, serial_number, volume) DO UPDATE SET failing = excluded.failing, read_at = excluded.read_at
                """
        ).execute(arguments: [tenant, serial, volume, failing, readAt.timeIntervalSince1970])
    }
}
