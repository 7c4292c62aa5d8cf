import Foundation
import GRDB
import Logging
import Metrics
import ServiceLifecycle
import VectisDelivery

/// Runs the silence check on a timer (default every minute): a silent agent sends no event to react to. Then marks
/// the nights the missed and offline conditions cover (`SilentNights`).
struct SilenceWatch: Service {
    let database: DatabasePool
    let outbox: Outbox
    let settings: SilenceSettings
    let nights: NightSettings
    let clock: @Sendable () -> Date
    let metrics: any MetricsFactory
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await checkOnce()
                } catch is CancellationError {
                    return
                } catch {
                    Counter(label: "vectis_backups_silence_check_errors_total", factory: metrics).increment()
                    logger.error("silence check failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: settings.checkInterval)
            }
        }
    }

    @discardableResult
    func checkOnce() async throws -> SilenceCheck.Outcome {
        let now = clock()
        let started = ContinuousClock.now
        let outcome = try await SilenceCheck.run(settings: settings, now: now, database: database, outbox: outbox)
        try await SilentNights.mark(nights: nights, now: now, database: database)
        let took = started.duration(to: .now)
        Gauge(label: "vectis_backups_silence_check_seconds", factory: metrics)
            .record(Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18)
        for (change, count) in [("started", outcome.started), ("continued", outcome.continued), ("ended", outcome.ended)] where count > 0 {
            Counter(label: "vectis_backups_conditions_total", dimensions: [("change", change)], factory: metrics).increment(by: count)
            logger.info("silence check", metadata: ["change": "\(change)", "conditions": "\(count)"])
        }
        Gauge(label: "vectis_backups_subjects_not_judged", factory: metrics).record(outcome.notJudged)
        Counter(label: "vectis_backups_silence_checks_total", factory: metrics).increment()
        return outcome
    }
}
