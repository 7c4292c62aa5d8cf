import Crypto
import Foundation
import GRDB
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import VectisAPI
import VectisContracts
import VectisDelivery
import VectisRuntime
import VectisStorage

/// Polls every configured Datto integration on its interval, and at once when asked ("sync now").
public final class DattoPoller: Service, Sendable {
    let repository: any IntegrationRepository
    let database: DatabasePool
    let outbox: Outbox
    let configuration: CollectorConfiguration
    let logger: Logger
    private let limiters = Mutex<[String: RequestRateLimiter]>([:])
    private let requested = Mutex<[String: String]>([:])  // tenant → sync id promised to the caller
    /// Each tenant's sync under way, or the last one (at 100%), as measured for the API and the bus.
    private let progressBoard = Mutex<[String: CollectorSyncProgress]>([:])
    private let wake = WakeSignal()
    private let syncs: [DattoSyncStatus: Counter]
    private let requests: Counter
    private let runs: Counter
    /// Passes that could not read the integrations at all (`vectis_collector_integration_read_failures_total`).
    private let listFailures: Counter
    private let metrics: any MetricsFactory

    public init(
        repository: any IntegrationRepository, database: DatabasePool, outbox: Outbox,
        configuration: CollectorConfiguration, metrics: any MetricsFactory, logger: Logger
    ) {
        self.repository = repository
        self.database = database
        self.outbox = outbox
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        var syncs: [DattoSyncStatus: Counter] = [:]
        for result: DattoSyncStatus in [.ok, .partial, .error] {
            syncs[result] = Counter(label: "vectis_collector_syncs_total", dimensions: [("result", result.rawValue)], factory: metrics)
        }
        self.syncs = syncs
        requests = Counter(label: "vectis_collector_datto_requests_total", factory: metrics)
        listFailures = Counter(label: "vectis_collector_integration_read_failures_total", factory: metrics)
        runs = Counter(label: "vectis_collector_runs_observed_total", factory: metrics)
    }

    /// Asks for a sync of `tenant` now; returns the id the sync will carry.
    public func requestSync(tenant: String) -> String {
        let id = requested.withLock { requested in
            if let id = requested[tenant] { return id }
            let id = "sync-\(UUID().uuidString.prefix(8).lowercased())"
            requested[tenant] = id
            return id
        }
        wake.signal()
        return id
    }

    /// How far the tenant's current (or last) sync has come; nil when this collector has not synced it yet.
    public func progress(tenant: String) -> CollectorSyncProgress? {
        progressBoard.withLock { $0[tenant] }
    }

    /// A file name for a key's budget that does not reveal the key.
    static func fileName(for publicKey: String) -> String {
        SHA256.hash(data: Data(publicKey.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// A client for these credentials; every client of one public key shares that key's request budget.
    public func client(for credentials: DattoCredentials) -> DattoClient? {
        guard let baseURL = configuration.regions.baseURL(for: credentials.region) else { return nil }
        let limiter = limiters.withLock { limiters in
            if let limiter = limiters[credentials.publicKey] { return limiter }
            // Half a second of margin on Datto's minute, so its own count never sees one too many; scaled down
            // with a shorter window (a benchmark's fast clock), where half a second would halve the budget.
            // The window is kept in the data directory, so a restart does not hand the key a second budget.
            let limiter = RequestRateLimiter(
                limit: configuration.requestsPerWindow, window: configuration.rateWindow,
                margin: min(.milliseconds(500), configuration.rateWindow / 10),
                stateFile: "\(configuration.runtime.dataDirectory)/datto-budget-\(Self.fileName(for: credentials.publicKey)).json",
                logger: logger)
            limiters[credentials.publicKey] = limiter
            return limiter
        }
        return DattoClient(
            baseURL: baseURL, credentials: credentials, limiter: limiter, timeout: configuration.requestTimeout,
            retry: configuration.retry, maxResponseBytes: configuration.maxResponseBytes, logger: logger)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var lastComplaint: ContinuousClock.Instant?
            while !Task.isCancelled {
                let integrations: [DattoIntegration]
                do {
                    integrations = try await repository.all()
                } catch {
                    // The database itself failed: nothing can be polled until it answers. Said (once a minute at
                    // most) and counted, never silent; each tenant's own failures are its sync's status instead.
                    listFailures.increment()
                    if lastComplaint.map({ ContinuousClock.now - $0 >= .seconds(60) }) ?? true {
                        lastComplaint = .now
                        logger.error("cannot read the Datto integrations; polling waits for the database", metadata: ["error": "\(error)"])
                    }
                    integrations = []
                }
                for integration in integrations {
                    let promised = requested.withLock { $0.removeValue(forKey: integration.tenant) }
                    let due =
                        integration.lastSyncStartedAt.map {
                            configuration.clock().timeIntervalSince($0) >= DattoClient.seconds(configuration.pollInterval)
                        } ?? true
                    guard promised != nil || due else { continue }
                    let trigger: SyncTrigger =
                        promised != nil ? .manual : (integration.lastSyncStartedAt == nil ? .initial : .scheduled)
                    await sync(integration, syncId: promised ?? "sync-\(UUID().uuidString.prefix(8).lowercased())", trigger: trigger)
                }
                await wake.wait(timeout: configuration.pollTick)
            }
        }
    }

    /// Runs one sync and records its outcome; never throws (a failed sync is a status, not a crash).
    func sync(_ integration: DattoIntegration, syncId: String, trigger: SyncTrigger) async {
        let tenant = integration.tenant
        let metadata: Logger.Metadata = ["tenant": "\(tenant)", "sync": "\(syncId)", "trigger": "\(trigger.rawValue)"]
        do {
            let started = configuration.clock()
            try await repository.syncStarted(tenant: tenant, syncId: syncId, at: started)
            _ = try await database.write { [outbox] db in
                try outbox.append(
                    CollectorSyncStarted(syncId: syncId, trigger: trigger, region: integration.region, startedAt: started),
                    tenant: tenant, correlationId: syncId, in: db)
            }
            guard let credentials = try await repository.credentials(tenant: tenant),
                let client = client(for: credentials)
            else {
                throw DattoError(kind: .unreachable, endpoint: "", message: "No base URL is configured for region \(integration.region).")
            }
            logger.info("sync started", metadata: metadata)
            var runner = SyncRunner(
                tenant: tenant, client: client, database: database, outbox: outbox, concurrency: configuration.concurrency,
                logger: logger, clock: configuration.clock, strategy: configuration.pollStrategy,
                pollInterval: DattoClient.seconds(configuration.pollInterval))
            let tracker = SyncProgressTracker(syncId: syncId, limiter: limiters.withLock { $0[credentials.publicKey] })
            runner.onProgress = { read, total in tracker.devices(read: read, of: total) }
            let reporting = Task { [self] in await report(tracker, client: client, tenant: tenant) }
            defer { reporting.cancel() }
            do {
                // Scheduled polls spend a budget, due devices first; the first sync and "sync now" read everything.
                let summary = try await runner.run(syncId: syncId, budget: trigger == .scheduled ? configuration.pollBudget : nil)
                reporting.cancel()
                await publishProgress(await tracker.snapshot(requests: summary.requests, finished: true), tenant: tenant)
                try await finished(summary, tenant: tenant, syncId: syncId, metadata: metadata)
            } catch {
                requests.increment(by: Int64(client.requestsMade))
                throw error
            }
        } catch let error as DattoError {
            await failed(tenant: tenant, syncId: syncId, error: error, metadata: metadata)
        } catch is CancellationError {
            // This task is cancelled, so the write runs in its own (uncancelled) task.
            let repository = repository
            do {
                try await Task {
                    try await repository.syncFinished(
                        tenant: tenant, status: .error, at: Date(), summary: nil,
                        error: DattoError(kind: .timeout, endpoint: "", message: "Sync interrupted by shutdown."))
                }.value
            } catch {
                logger.warning("could not record the interrupted sync", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        } catch {
            await failed(
                tenant: tenant, syncId: syncId,
                error: DattoError(kind: .unexpectedStatus, endpoint: "", message: "Sync failed: \(error)"), metadata: metadata)
        }
    }

    /// Counts a finished sync, announces it on the bus and records its status: partial when some devices could not
    /// be read.
    private func finished(_ summary: SyncSummary, tenant: String, syncId: String, metadata: Logger.Metadata) async throws {
        requests.increment(by: Int64(summary.requests))
        runs.increment(by: Int64(summary.runsObserved))
        let status: DattoIntegration.Status = summary.failedDevices > 0 ? .partial : .ok
        syncs[status]?.increment()
        _ = try await database.write { [outbox] db in
            try outbox.append(
                CollectorSyncCompleted(
                    syncId: syncId, devices: summary.devices, agents: summary.agents, runsObserved: summary.runsObserved,
                    requests: summary.requests, durationSeconds: summary.durationSeconds),
                tenant: tenant, correlationId: syncId, in: db)
        }
        let partialError =
            summary.failedDevices > 0
            ? DattoError(
                kind: .serverError, endpoint: "/bcdr/device/{serial}/asset",
                message: "\(summary.failedDevices) of \(summary.devices) devices could not be read; the next poll retries them.")
            : nil
        try await repository.syncFinished(tenant: tenant, status: status, at: configuration.clock(), summary: summary, error: partialError)
        var metadata = metadata
        metadata["devices"] = "\(summary.devices)"
        metadata["agents"] = "\(summary.agents)"
        metadata["newRuns"] = "\(summary.runsObserved)"
        metadata["requests"] = "\(summary.requests)"
        logger.info("sync completed", metadata: metadata)
    }

    /// Measures the sync every half second for the API and puts it on the bus every two, until cancelled.
    private func report(_ tracker: SyncProgressTracker, client: DattoClient, tenant: String) async {
        var published: ContinuousClock.Instant?
        while !Task.isCancelled {
            let progress = await tracker.snapshot(requests: client.requestsMade, finished: false)
            if published.map({ ContinuousClock.now - $0 >= .seconds(2) }) ?? true {
                published = .now
                await publishProgress(progress, tenant: tenant)
            } else {
                progressBoard.withLock { $0[tenant] = progress }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    /// Shows `progress` in the API and publishes it; a failed publish only costs the bus this one update.
    private func publishProgress(_ progress: CollectorSyncProgress, tenant: String) async {
        progressBoard.withLock { $0[tenant] = progress }
        do {
            _ = try await database.write { [outbox] db in
                try outbox.append(progress, tenant: tenant, correlationId: progress.syncId, in: db)
            }
        } catch {
            logger.debug("sync progress not published", metadata: ["tenant": "\(tenant)", "error": "\(error)"])
        }
    }

    private func failed(tenant: String, syncId: String, error: DattoError, metadata: Logger.Metadata) async {
        syncs[.error]?.increment()
        Counter(label: "vectis_collector_sync_errors_total", dimensions: [("kind", error.kind.rawValue)], factory: metrics).increment()
        var metadata = metadata
        metadata["error"] = "\(error.message)"
        metadata["kind"] = "\(error.kind.rawValue)"
        logger.error("sync failed", metadata: metadata)
        do {
            _ = try await database.write { [outbox] db in
                try outbox.append(
                    CollectorSyncFailed(
                        syncId: syncId, errorKind: error.kind.rawValue, message: error.message,
                        endpoint: error.endpoint.isEmpty ? nil : error.endpoint),
                    tenant: tenant, correlationId: syncId, in: db)
            }
            try await repository.syncFinished(tenant: tenant, status: .error, at: Date(), summary: nil, error: error)
        } catch {
            logger.error("could not record the failed sync", metadata: ["error": "\(error)"])
        }
    }

    /// The Test button: one request, the guide's line or the guide's error.
    public func test(_ credentials: DattoCredentials) async -> ConnectionTestResult {
        guard let client = client(for: credentials) else {
            return ConnectionTestResult(
                ok: false, message: "Unknown region \(credentials.region); use us or eu.", devices: nil, kind: .invalidRegion,
                endpoint: nil)
        }
        do {
            let (count, atLeast) = try await client.visibleDeviceCount()
            return ConnectionTestResult(
                ok: true,
                message: "Connected to Datto (\(credentials.region)) — \(atLeast ? "at least " : "")\(count) BCDR devices visible",
                devices: count, kind: nil, endpoint: nil)
        } catch let error as DattoError {
            logger.warning("Datto connection test failed", metadata: ["error": "\(error.message)", "kind": "\(error.kind.rawValue)"])
            return ConnectionTestResult(
                ok: false, message: error.message, devices: nil, kind: error.kind, endpoint: error.endpoint)
        } catch {
            return ConnectionTestResult(ok: false, message: "Test failed: \(error)", devices: nil, kind: .unexpected, endpoint: nil)
        }
    }
}
