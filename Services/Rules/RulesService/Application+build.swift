import Foundation
import Hummingbird
import Logging
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// What `vectis-rules` reads from the environment.
public struct RulesConfiguration: Sendable {
    public var runtime: RuntimeConfiguration
    public var adminToken: String
    /// Accepted besides the admin token on reads (rules, history, mappings, tickets).
    public var readToken: String = AdminToken.unguessable
    public var secretKeyFile: String
    /// How long a new rule only records what it would do.
    public var defaultDryRun: Duration
    public var psaTimeout: Duration
    /// Where PSA calls may go (`VECTIS_ALLOW_PRIVATE_UPSTREAMS`).
    public var upstreams: UpstreamPolicy

    public init(
        runtime: RuntimeConfiguration, adminToken: String, secretKeyFile: String, defaultDryRun: Duration = .seconds(24 * 3_600),
        psaTimeout: Duration = .seconds(20), upstreams: UpstreamPolicy = UpstreamPolicy()
    ) {
        self.runtime = runtime
        self.upstreams = upstreams
        self.adminToken = adminToken
        self.secretKeyFile = secretKeyFile
        self.defaultDryRun = defaultDryRun
        self.psaTimeout = psaTimeout
    }

    public init(environment env: VectisRuntime.Environment) throws {
        let runtime = try RuntimeConfiguration(service: "rules", defaultHTTPPort: 8085, environment: env)
        self.init(
            runtime: runtime, adminToken: try AdminToken.resolve(env, dataDirectory: runtime.dataDirectory),
            secretKeyFile: env.string("VECTIS_SECRET_KEY_FILE", default: "\(runtime.dataDirectory)/rules-secret.key"),
            defaultDryRun: .seconds(Int(try env.double("VECTIS_RULES_DRY_RUN_HOURS", default: 24) * 3_600)),
            psaTimeout: .seconds(try env.int("VECTIS_PSA_TIMEOUT_SECONDS", default: 20)), upstreams: try UpstreamPolicy(environment: env))
        readToken = try ReadToken.resolve(env, dataDirectory: runtime.dataDirectory)
    }
}

/// Everything `vectis-rules` runs, wired from its configuration; tests build exactly this.
public func buildApplication(
    _ configuration: RulesConfiguration, metrics: ServiceMetrics = ServiceMetrics(), logger: Logger = Logger(label: "vectis-rules")
) throws -> (application: some ApplicationProtocol, bus: ReliableBus, routes: [String]) {
    let database = try ServiceDatabase.open(at: configuration.runtime.databasePath, migrator: RulesTables.migrator)
    let secrets = try SecretBox.load(keyFile: configuration.secretKeyFile)
    var handlers = BusHandlers()
    // A fact seen before (replayed under a new epoch of the backups stream) decides nothing again.
    handlers.on(BackupJobRecorded.self) { job, header, db, outbox in
        guard try AppliedFacts.firstTime(job, tenant: header.tenant, in: db) else { return }
        try RuleEngine.evaluate(job, tenant: header.tenant, now: Date(), db: db, outbox: outbox)
    }
    handlers.on(BackupConditionChanged.self) { condition, header, db, outbox in
        guard try AppliedFacts.firstTime(condition, tenant: header.tenant, in: db) else { return }
        try RuleEngine.evaluate(condition, tenant: header.tenant, now: Date(), db: db, outbox: outbox)
    }
    let bus = try ReliableBus(
        configuration: configuration.runtime, database: database, handlers: handlers, metrics: metrics, logger: logger)
    let worker = TicketWorker(
        database: database, outbox: bus.outbox, secrets: secrets, timeout: configuration.psaTimeout,
        upstreams: configuration.upstreams, metrics: metrics.factory, logger: logger)
    let router = ServiceApplication.makeRouter()
    RulesController(
        database: database, secrets: secrets, worker: worker, adminToken: configuration.adminToken,
        readToken: configuration.readToken,
        defaultDryRun: configuration.defaultDryRun
    ).addRoutes(to: router)
    PicklistsController(database: database, secrets: secrets, worker: worker, adminToken: configuration.adminToken, logger: logger)
        .addRoutes(to: router)
    DeadLetterController(consumer: bus.consumer, adminToken: configuration.adminToken).addRoutes(to: router)
    let (application, routes) = ServiceApplication.build(
        configuration: configuration.runtime, metrics: metrics, router: router, services: bus.services + [worker],
        checks: bus.checks, logger: logger)
    return (application, bus, routes)
}
