import Foundation
import Hummingbird
import Logging
import VectisRuntime
import VectisStorage

/// Everything `vectis-collector` runs, wired from its configuration; tests build exactly this.
public struct Collector: Sendable {
    public let bus: ReliableBus
    public let poller: DattoPoller
    public let repository: SQLiteIntegrationRepository
    public let database: DatabasePoolHandle
}

/// The collector's database, exposed for tests and tools that inspect it.
public struct DatabasePoolHandle: Sendable {
    public let path: String
}

public func buildApplication(
    _ configuration: CollectorConfiguration, metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "vectis-collector")
) throws -> (application: some ApplicationProtocol, collector: Collector) {
    let database = try ServiceDatabase.open(at: configuration.runtime.databasePath, migrator: CollectorTables.migrator)
    let secrets = try SecretBox.load(keyFile: configuration.secretKeyFile)
    let repository = SQLiteIntegrationRepository(database: database, secrets: secrets)
    let bus = try ReliableBus(
        configuration: configuration.runtime, database: database, subscriptions: [], metrics: metrics, logger: logger)
    let poller = DattoPoller(
        repository: repository, database: database, outbox: bus.outbox, configuration: configuration,
        metrics: metrics.factory, logger: logger)

    let router = Router()
    let admin = router.group("v1/integrations/datto").add(middleware: BearerTokenMiddleware(token: configuration.adminToken))
    IntegrationController(repository: repository, poller: poller).addRoutes(to: admin)

    let application = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: router, services: bus.services + [poller],
        checks: [bus.readinessCheck], logger: logger)
    return (
        application,
        Collector(bus: bus, poller: poller, repository: repository, database: DatabasePoolHandle(path: configuration.runtime.databasePath))
    )
}
