import Foundation
import Hummingbird
import Logging
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Everything `vectis-rules` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: RulesConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "vectis-rules")
) throws -> BuiltService<some ApplicationProtocol, ReliableBus> {
    let database = try ServiceDatabase.open(at: configuration.runtime.databasePath, migrator: RulesTables.migrator)
    let secrets = try SecretBox.load(keyFile: configuration.secretKeyFile)
    let console = configuration.consoleURL
    let rules = EnabledRules(database)
    var handlers = BusHandlers()
    // A fact seen before (replayed under a new epoch of the backups stream) decides nothing again.
    handlers.on(BackupJobRecorded.self) { job, header, db, outbox in
        guard try AppliedFacts.firstTime(job, tenant: header.tenant, in: db) else { return }
        try RuleEngine.evaluate(job, tenant: header.tenant, now: Date(), console: console, rules: rules, db: db, outbox: outbox)
    }
    handlers.on(BackupConditionChanged.self) { condition, header, db, outbox in
        guard try AppliedFacts.firstTime(condition, tenant: header.tenant, in: db) else { return }
        try RuleEngine.evaluate(condition, tenant: header.tenant, now: Date(), console: console, rules: rules, db: db, outbox: outbox)
    }
    handlers.on(DattoAgentSeen.self) { agent, header, db, _ in
        try AgentClassRecord.save(agent, tenant: header.tenant, at: Date(), db)
    }
    let bus = try ReliableBus(
        configuration: configuration.runtime, database: database, handlers: handlers, metrics: metrics, logger: logger)
    let worker = TicketWorker(
        database: database, outbox: bus.outbox, secrets: secrets, timeout: configuration.psaTimeout,
        upstreams: configuration.upstreams, metrics: metrics.factory, logger: logger)
    let readBack = TicketReadBack(
        database: database, worker: worker, outbox: bus.outbox, secrets: secrets, interval: configuration.ticketCheckInterval,
        share: configuration.ticketCheckShare, logger: logger)
    let notifications = NotificationWorker(
        database: database, secrets: secrets,
        delivery: ChannelDelivery(
            timeout: configuration.psaTimeout, upstreams: configuration.upstreams, extraTrustRoots: configuration.extraTrustRoots),
        console: configuration.consoleURL, metrics: metrics.factory, logger: logger, clock: configuration.clock)
    let router = ServiceApplication.makeRouter()
    RulesController(
        database: database, secrets: secrets, worker: worker, adminToken: configuration.adminToken,
        readToken: configuration.readToken,
        defaultDryRun: configuration.defaultDryRun
    ).addRoutes(to: router)
    PicklistsController(database: database, secrets: secrets, worker: worker, adminToken: configuration.adminToken, logger: logger)
        .addRoutes(to: router)
    ChannelsController(
        database: database, secrets: secrets, worker: notifications, upstreams: configuration.upstreams,
        access: AccessTokens(admin: configuration.adminToken, read: configuration.readToken)
    ).addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: configuration.adminToken).addRoutes(to: router)
    LiveEventsController(broadcast: bus.broadcast, access: AccessTokens(admin: configuration.adminToken, read: configuration.readToken))
        .addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: router, services: bus.services + [worker, readBack, notifications],
        checks: bus.checks, logger: logger)
    return BuiltService(application: application, routes: routes, parts: bus)
}
