import Foundation
import Hummingbird
import Logging
import VectisContracts
import VectisRuntime
import VectisStorage

/// Everything `vectis-assets` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: AssetsConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "vectis-assets")
) throws -> BuiltService<some ApplicationProtocol, ReliableBus> {
    let (runtime, access) = (configuration.runtime, configuration.access)
    let database = try ServiceDatabase.open(at: runtime.databasePath, migrator: AssetsTables.migrator)
    var handlers = BusHandlers()
    handlers.on(DattoDeviceSeen.self) { device, header, db, outbox in
        try AssetStore.apply(device, tenant: header.tenant, at: Date(), db: db, outbox: outbox)
    }
    handlers.on(DattoAgentSeen.self) { agent, header, db, outbox in
        try AssetStore.apply(agent, tenant: header.tenant, at: Date(), db: db, outbox: outbox)
    }
    handlers.on(BackupRunObserved.self) { run, header, db, _ in try AssetStore.apply(run, tenant: header.tenant, db: db) }
    let bus = try ReliableBus(configuration: runtime, database: database, handlers: handlers, metrics: metrics, logger: logger)
    let router = ServiceApplication.makeRouter()
    AssetsController(queries: AssetQueries(database: database), access: access).addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: access.admin).addRoutes(to: router)
    LiveEventsController(broadcast: bus.broadcast, access: access).addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: runtime, metrics: metrics, router: router, services: bus.services, checks: bus.checks, logger: logger)
    return BuiltService(application: application, routes: routes, parts: bus)
}
