import Foundation
import Hummingbird
import Logging
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Everything `vectis-alerts` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: AlertsConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "vectis-alerts")
) throws -> BuiltService<some ApplicationProtocol, ReliableBus> {
    let (runtime, access) = (configuration.runtime, configuration.access)
    let database = try ServiceDatabase.open(at: runtime.databasePath, migrator: AlertsTables.migrator)
    var handlers = BusHandlers()
    // A fact seen before (replayed under a new epoch of the backups stream) is not counted again.
    handlers.on(BackupJobRecorded.self) { job, header, db, outbox in
        guard try AppliedFacts.firstTime(job, tenant: header.tenant, in: db) else { return }
        try AlertStore.apply(job, tenant: header.tenant, at: Date(), db: db, outbox: outbox)
    }
    handlers.on(BackupConditionChanged.self) { condition, header, db, outbox in
        guard try AppliedFacts.firstTime(condition, tenant: header.tenant, in: db) else { return }
        try AlertStore.apply(condition, tenant: header.tenant, at: Date(), db: db, outbox: outbox)
    }
    handlers.on(DattoDeviceAlerts.self) { list, header, db, outbox in
        try DattoAlertMirror.apply(list, tenant: header.tenant, at: Date(), db: db, outbox: outbox)
    }
    handlers.on(RuleFired.self) { fired, header, db, outbox in
        // What the rules engine tells the feed: why a failing agent has no ticket, and what a person did to one.
        switch fired.action {
        case .notMapped, .closedByPerson: try AlertStore.note(fired, tenant: header.tenant, db: db)
        case .resolvedByPerson: try AlertStore.resolveByTicket(fired, tenant: header.tenant, now: Date(), db: db, outbox: outbox)
        case .openTicket, .noteTicket, .closeTicket, .retry, .reopenTicket: return
        }
    }
    let bus = try ReliableBus(configuration: runtime, database: database, handlers: handlers, metrics: metrics, logger: logger)
    let router = ServiceApplication.makeRouter()
    AlertsController(queries: AlertQueries(database: database), database: database, outbox: bus.outbox, access: access)
        .addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: access.admin).addRoutes(to: router)
    LiveEventsController(broadcast: bus.broadcast, access: access).addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: runtime, metrics: metrics, router: router, services: bus.services, checks: bus.checks, logger: logger)
    return BuiltService(application: application, routes: routes, parts: bus)
}
