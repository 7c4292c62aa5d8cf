import Foundation
import GRDB
import Hummingbird
import Logging
import Metrics
import VectisContracts
import VectisRuntime
import VectisStorage

/// Everything `vectis-collector` runs, wired from its configuration; tests build exactly this.
public struct Collector: Sendable {
    public let bus: ReliableBus
    public let poller: DattoPoller
    public let repository: SQLiteIntegrationRepository
    let database: DatabasePool

    /// When each of a tenant's devices last had its assets read (Datto's time), by serial; nil for a device only listed.
    public func deviceReads(tenant: String = "default") async throws -> [String: Date?] {
        try await database.read { db in try DeviceSchedule.all(tenant: tenant, db).mapValues(\.lastReadAt) }
    }

    /// How many backup runs the collector has published for a tenant.
    public func publishedRuns(tenant: String = "default") async throws -> Int {
        try await database.read { db in try ObservedRuns.count(tenant: tenant, db) }
    }
}

public func buildApplication(
    _ configuration: CollectorConfiguration, metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "vectis-collector")
) throws -> BuiltService<some ApplicationProtocol, Collector> {
    var configuration = configuration
    let sandboxClock = configuration.sandboxClockURL.map { SandboxClock(url: $0, logger: logger) }
    if let sandboxClock { configuration.clock = { sandboxClock.now() } }
    let database = try ServiceDatabase.open(at: configuration.runtime.databasePath, migrator: CollectorTables.migrator)
    let secrets = try SecretBox.load(keyFile: configuration.secretKeyFile)
    let repository = SQLiteIntegrationRepository(database: database, secrets: secrets)
    let retryMinInterval = configuration.retryMinInterval
    let retriesRefused = Dictionary(
        uniqueKeysWithValues: RetryGate.Refusal.allCases.map {
            ($0, Counter(label: "vectis_collector_retries_refused_total", dimensions: [("reason", $0.rawValue)], factory: metrics.factory))
        })
    var handlers = BusHandlers()
    handlers.on(BackupRetryRequested.self) { retry, header, db, _ in
        // Queued here, carried out by the retry worker (no network call inside a transaction).
        if let refusal = try RetryGate.check(
            retry, tenant: header.tenant, minInterval: retryMinInterval, now: Date(), in: db)
        {
            retriesRefused[refusal]?.increment()
            logger.notice(
                "retry request not carried out",
                metadata: [
                    "reason": "\(refusal.rawValue)", "device": "\(LogText.cut(retry.deviceSerial))",
                    "agent": "\(LogText.cut(retry.agentVolume))"
                ])
            return
        }
        try RetryRequest(retry, tenant: header.tenant, at: Date()).enqueue(db)
    }
    let bus = try ReliableBus(
        configuration: configuration.runtime, database: database, handlers: handlers, metrics: metrics, logger: logger)
    let poller = DattoPoller(
        repository: repository, database: database, outbox: bus.outbox, configuration: configuration,
        metrics: metrics.factory, logger: logger)

    let router = ServiceApplication.makeRouter()
    let admin = router.group("v1/integrations/datto").add(middleware: BearerTokenMiddleware(token: configuration.adminToken))
    IntegrationController(repository: repository, poller: poller).addRoutes(to: admin)
    let reads = router.group("v1/screenshots").add(
        middleware: BearerTokenMiddleware(reading: AccessTokens(admin: configuration.adminToken, read: configuration.readToken)))
    ScreenshotController(repository: repository, poller: poller, cache: ScreenshotCache()).addRoutes(to: reads)

    DeadLetterController(consumer: bus.consumer, adminToken: configuration.adminToken).addRoutes(to: router)
    LiveEventsController(broadcast: bus.broadcast, access: AccessTokens(admin: configuration.adminToken, read: configuration.readToken))
        .addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: router,
        services: bus.services + [
            poller,
            RetryWorker(
                database: database, outbox: bus.outbox, repository: repository, poller: poller, hookURL: configuration.retryHookURL,
                hookSecret: configuration.retryHookSecret, upstreams: configuration.upstreams,
                logger: logger)
        ] + (sandboxClock.map { [$0] } ?? []),
        checks: bus.checks, logger: logger)
    let collector = Collector(
        bus: bus, poller: poller, repository: repository, database: database)
    return BuiltService(application: application, routes: routes, parts: collector)
}
