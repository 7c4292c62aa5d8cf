import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Deletes `backup_jobs` rows older than the retention period, hourly.
struct RetentionService: Service {
    let database: DatabasePool
    let retentionDays: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let cutoff = Date().timeIntervalSince1970 - Double(retentionDays) * 86_400
                    let deleted = try await database.write { db in
                        try db.execute(sql: "DELETE FROM backup_jobs WHERE run_at < ?", arguments: [cutoff])
                        return db.changesCount
                    }
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
