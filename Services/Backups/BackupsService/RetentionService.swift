import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Deletes `backup_jobs` rows older than the retention period, hourly, and the per-night roll-up's nights as old
/// (a night is named by its date, so the day before the cutoff's date goes: nothing a grid or a rate still shows).
struct RetentionService: Service {
    let database: DatabasePool
    let retentionDays: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The roll-up's nights are pruned when the cutoff's date moves on: once a day, not every hour (a full scan).
            var prunedBefore: String?
            while !Task.isCancelled {
                do {
                    let cutoff = Date().timeIntervalSince1970 - Double(retentionDays) * 86_400
                    let night = String(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: cutoff - 86_400)).prefix(10))
                    let pruneNights = prunedBefore != night
                    let deleted = try await database.write { db in
                        try db.execute(sql: "DELETE FROM backup_jobs WHERE run_at < ?", arguments: [cutoff])
                        let runs = db.changesCount
                        if pruneNights {
                            try db.execute(sql: "DELETE FROM agent_night WHERE night < ?", arguments: [night])
                            try db.execute(sql: "DELETE FROM customer_night WHERE night < ?", arguments: [night])
                        }
                        return runs
                    }
                    prunedBefore = night
                    if deleted > 0 { logger.info("retention removed old backup runs", metadata: ["rows": "\(deleted)"]) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("retention failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(3_600))
            }
        }
    }
}
