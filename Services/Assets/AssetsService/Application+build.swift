import Foundation
import Hummingbird
import Logging
import VectisContracts
import VectisRuntime
import VectisStorage

/// Everything `vectis-assets` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: RuntimeConfiguration, access: AccessTokens = AccessTokens(),
    metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "vectis-assets")
) throws -> (application: some ApplicationProtocol, bus: ReliableBus, routes: [String]) {
    let database = try ServiceDatabase.open(at: configuration.databasePath, migrator: AssetsTables.migrator)
    let bus = try ReliableBus(
        configuration: configuration, database: database,
        subscriptions: [.exact(DattoDeviceSeen.topic), .exact(DattoAgentSeen.topic), .exact(BackupRunObserved.topic)],
        metrics: metrics, logger: logger
    ) { received, db, outbox in
        let tenant = received.header.tenant
        switch received.event {
        case let device as DattoDeviceSeen: try AssetStore.apply(device, tenant: tenant, at: Date(), db: db, outbox: outbox)
        case let agent as DattoAgentSeen: try AssetStore.apply(agent, tenant: tenant, at: Date(), db: db, outbox: outbox)
        case let run as BackupRunObserved: try AssetStore.apply(run, tenant: tenant, db: db)
        default: break
        }
    }
    let router = ServiceApplication.makeRouter()
    AssetsController(queries: AssetQueries(database: database), access: access).addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: access.admin).addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration, metrics: metrics, router: router, services: bus.services, checks: bus.checks,
        logger: logger)
    return (application, bus, routes)
}
