import Foundation
import Hummingbird
import Logging
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Everything `vectis-alerts` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: RuntimeConfiguration, access: AccessTokens, metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "vectis-alerts")
) throws -> (application: some ApplicationProtocol, bus: ReliableBus, routes: [String]) {
    let database = try ServiceDatabase.open(at: configuration.databasePath, migrator: AlertsTables.migrator)
    let bus = try ReliableBus(
        configuration: configuration, database: database,
        subscriptions: [.exact(BackupJobRecorded.topic), .exact(BackupConditionChanged.topic), .exact(RuleFired.topic)], metrics: metrics, logger: logger
    ) { received, db, outbox in
        switch received.event {
        // A fact seen before (replayed under a new epoch of the backups stream) is not counted again.
        case let job as BackupJobRecorded:
            guard try AppliedFacts.firstTime(job, tenant: received.header.tenant, in: db) else { return }
            try AlertStore.apply(job, tenant: received.header.tenant, at: Date(), db: db, outbox: outbox)
        case let condition as BackupConditionChanged:
            guard try AppliedFacts.firstTime(condition, tenant: received.header.tenant, in: db) else { return }
            try AlertStore.apply(condition, tenant: received.header.tenant, at: Date(), db: db, outbox: outbox)
        case let fired as RuleFired where fired.action == .notMapped:
            // The one thing the rules engine tells the feed: why a failing agent has no ticket.
            try AlertStore.note(fired, tenant: received.header.tenant, db: db)
        default:
            break
        }
    }
    let router = ServiceApplication.makeRouter()
    AlertsController(queries: AlertQueries(database: database), database: database, outbox: bus.outbox, access: access)
        .addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: access.admin).addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration, metrics: metrics, router: router, services: bus.services, checks: bus.checks,
        logger: logger)
    return (application, bus, routes)
}
