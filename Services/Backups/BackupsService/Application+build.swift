import Foundation
import GRDB
import Hummingbird
import Logging
import VectisContracts
import VectisRuntime
import VectisStorage

/// Everything `vectis-backups` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: BackupsConfiguration, metrics: ServiceMetrics = ServiceMetrics(),
    logger: Logger = Logger(label: "vectis-backups")
) throws -> BuiltService<some ApplicationProtocol, ReliableBus> {
    let database = try ServiceDatabase.open(at: configuration.runtime.databasePath, migrator: BackupsTables.migrator)
    let nights = configuration.nights
    let sandboxClock = configuration.sandboxClockURL.map { SandboxClock(url: $0, logger: logger) }
    let clock = sandboxClock.map { clock in { @Sendable in clock.now() } } ?? configuration.clock
    var handlers = BusHandlers()
    handlers.on(BackupRunObserved.self) { run, header, db, outbox in
        try BackupJobStore.record(
            run, tenant: header.tenant, calendar: nights.calendar(for: header.tenant), at: clock(), db: db, outbox: outbox,
            correlationId: header.messageId.uuidString)
    }
    // Judged as of when the collector read it, not when it was applied (a replay applies old news late).
    handlers.on(DattoAgentSeen.self) { agent, header, db, _ in
        try BackupJobStore.apply(
            agent, tenant: header.tenant, calendar: nights.calendar(for: header.tenant), at: agent.observedAt ?? clock(), db: db)
    }
    handlers.on(DattoDeviceSeen.self) { device, header, db, _ in
        try BackupJobStore.apply(device, tenant: header.tenant, at: device.observedAt ?? clock(), db: db)
    }
    let bus = try ReliableBus(
        configuration: configuration.runtime, database: database, handlers: handlers, metrics: metrics, logger: logger)
    let router = ServiceApplication.makeRouter()
    HubController(queries: HubQueries(database: database, clock: clock), access: configuration.access).addRoutes(to: router)
    GridController(queries: GridQueries(database: database, nights: nights, clock: clock), access: configuration.access)
        .addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: configuration.access.admin).addRoutes(to: router)
    LiveEventsController(broadcast: bus.broadcast, access: configuration.access).addRoutes(to: router)
    let silence = SilenceWatch(
        database: database, outbox: bus.outbox, settings: configuration.silence, nights: nights, clock: clock, metrics: metrics.factory,
        logger: logger)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: router,
        services: bus.services + [
            RetentionService(database: database, retentionDays: configuration.retentionDays, logger: logger), silence
        ] + (sandboxClock.map { [$0] } ?? []),
        checks: bus.checks, logger: logger)
    return BuiltService(application: application, routes: routes, parts: bus)
}
