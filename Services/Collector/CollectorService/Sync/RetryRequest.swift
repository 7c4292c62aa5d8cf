import Foundation
import GRDB
import VectisContracts
import VectisStorage

/// A retry asked for on the bus, queued until the retry worker carries it out (`retry_request`).
struct RetryRequest: Equatable, StoredRecord {
    /// `retry_request.state`; the table's CHECK lists the same values.
    enum State: String, Decodable, DatabaseValueConvertible {
        case pending
        case done
    }

    var retryId: String
    var tenant: String
    var deviceSerial: String
    var agentVolume: String
    var reason: String
    var requestedBy: String
    var state: State
    var createdAt: Date

    init(_ retry: BackupRetryRequested, tenant: String, at now: Date) {
        retryId = retry.retryId
        self.tenant = tenant
        deviceSerial = retry.deviceSerial
        agentVolume = retry.agentVolume
        reason = retry.reason
        requestedBy = retry.requestedBy
        state = .pending
        createdAt = now
    }

    /// Queues it; a retry id seen before is ignored (a replayed request).
    func enqueue(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO retry_request (retry_id, tenant, device_serial, agent_volume, reason, requested_by, state, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [retryId, tenant, deviceSerial, agentVolume, reason, requestedBy, state, createdAt.timeIntervalSince1970])
    }

    /// The oldest pending requests.
    static func pending(limit: Int, _ db: Database) throws -> [RetryRequest] {
        try RetryRequest.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM retry_request WHERE state = ? ORDER BY created_at LIMIT ?"),
            arguments: [State.pending, limit])
    }

    static func markDone(_ retryId: String, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE retry_request SET state = ? WHERE retry_id = ?").execute(arguments: [State.done, retryId])
    }
}
