import Foundation
import GRDB
import VectisContracts

/// Which `backup.retry.requested` commands the collector carries out. The bus already guarantees that only the
/// rules service can send one; this keeps a confused or compromised rules service from turning the collector
/// into a hook-calling, budget-spending loop:
///
/// - only for an agent the collector itself last read as failing (its newest run did not succeed);
/// - at most one retry per agent per `minInterval` (default 30 minutes), whatever asks.
enum RetryGate {
    enum Refusal: String, CaseIterable {
        /// The collector does not know the agent, or its newest run succeeded.
        case notFailing = "agent_not_failing"
        /// A retry for the same agent was taken within the interval.
        case tooSoon = "too_soon"
        /// Fields too long to be real.
        case malformed
    }

    static func check(_ retry: BackupRetryRequested, tenant: String, minInterval: Duration, now: Date, in db: Database) throws -> Refusal? {
        guard [retry.retryId, retry.deviceSerial, retry.agentVolume].allSatisfy(BusLimits.isName),
            retry.reason.utf8.count <= 1_000, retry.requestedBy.utf8.count <= BusLimits.maxNameBytes
        else { return .malformed }
        let failing = try Bool.fetchOne(
            db, sql: "SELECT failing FROM agent_state WHERE tenant = ? AND serial_number = ? AND volume = ?",
            arguments: [tenant, retry.deviceSerial, retry.agentVolume])
        guard failing == true else { return .notFailing }
        let since = now.timeIntervalSince1970 - Double(minInterval.components.seconds)
        let recent =
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM retry_request WHERE tenant = ? AND device_serial = ? AND agent_volume = ? AND created_at > ?",
                arguments: [tenant, retry.deviceSerial, retry.agentVolume, since]) ?? 0
        return recent > 0 ? .tooSoon : nil
    }
}
