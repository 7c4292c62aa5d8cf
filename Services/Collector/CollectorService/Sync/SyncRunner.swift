import Foundation
import GRDB
import Logging
import VectisContracts
import VectisDelivery

/// What one sync found.
public struct SyncSummary: Sendable, Equatable, Codable {
    public var devices: Int
    public var agents: Int
    public var runsObserved: Int
    public var requests: Int
    /// Devices whose assets could not be read this time (the rest of the sync still counts).
    public var failedDevices: Int
    public var durationSeconds: Double
    /// Devices whose assets this poll read; the others were announced from the device list only, because the
    /// request budget did not cover the fleet and the planner chose devices due first (nil: every device).
    public var devicesRead: Int?
    /// What SaaS Protection gave: "SaaS Protection: 2 domains, 6 applications watched", or "The key has no SaaS
    /// Protection scope" (nil: not read).
    public var saas: String?
}

/// One sync of one integration: list devices, read each device's assets with bounded concurrency, and publish
/// through the outbox — every device and agent, and each backup run the first time it is seen.
struct SyncRunner {
    let tenant: String
    let client: DattoClient
    let database: DatabasePool
    let outbox: Outbox
    let concurrency: Int
    let logger: Logger
    /// Datto's time now (a test or benchmark may run Datto's clock faster).
    var clock: @Sendable () -> Date = { Date() }
    var strategy: PollPlanner.Strategy = .dueFirst
    /// Seconds between scheduled polls: how a poll's share of slow-changing reads is sized.
    var pollInterval: TimeInterval = 300
    /// Told after each device read: (devices read, devices this sync will read).
    var onProgress: (@Sendable (_ read: Int, _ total: Int) -> Void)?

    /// Reads the device list, then the assets of every device — or, when a `budget` of requests cannot cover the
    /// fleet, of the devices the planner puts first; the rest are announced from the list alone. Datto's own device
    /// alerts, SaaS Protection and Endpoint Backup are read within shares of the budget (`PollSurfaces`).
    func run(syncId: String, budget: Int? = nil) async throws -> SyncSummary {
        let began = ContinuousClock.now
        let listed = try await client.devices()
        let listCost = client.requestsMade
        let known = try await database.read { [tenant, clock] db in try PollSurfaces.Known(tenant: tenant, now: clock(), db) }
        let surfaces = PollSurfaces.plan(
            listed: listed, known: known, budget: budget, listCost: listCost, pollInterval: pollInterval)
        // When what is left cannot cover the fleet, the planner picks each next device as a request slot frees up
        // (see `PollPlanner.next`).
        var planned: (schedules: [String: DeviceSchedule], reads: Int)?
        if let deviceReads = surfaces.deviceReads, deviceReads < listed.count {
            planned = (try await loadSchedules(), max(1, deviceReads))
        }
        let bySerial = Dictionary(listed.map { ($0.serialNumber, $0) }, uniquingKeysWith: { first, _ in first })
        let total = min(listed.count, planned?.reads ?? listed.count)
        var finished = 0
        onProgress?(0, total)
        var waiting = Set(listed.map(\.serialNumber))
        var started = 0
        func nextDevice() -> DattoDevice? {
            let serial: String?
            if let planned {
                guard started < planned.reads else { return nil }
                serial = PollPlanner.next(from: waiting, schedules: planned.schedules, now: clock(), pick: started, strategy: strategy)
            } else {
                serial = listed.lazy.map(\.serialNumber).first { waiting.contains($0) }
            }
            guard let serial, let device = bySerial[serial] else { return nil }
            waiting.remove(serial)
            started += 1
            return device
        }
        enum Done {
            case device(DattoDevice, Result<[DattoAsset], DattoError>)
            case surfaces(saas: SaaSOutcome?, runs: Int)
        }
        var agents = 0
        var runs = 0
        var failed = 0
        var saas: SaaSOutcome?
        var firstFatal: DattoError?
        var surfacesStarted = false
        try await withThrowingTaskGroup(of: Done.self) { group in
            // The other surfaces, one request at a time beside the device reads: started once no device is due or
            // unread, so the devices due at the start go first and the least recently read ones last — a device that
            // falls due while the poll goes on still finds device reads left.
            func startSurfaces() {
                guard !surfacesStarted else { return }
                surfacesStarted = true
                group.addTask {
                    try await publishAlerts(surfaces.alerts, devices: bySerial, syncId: syncId)
                    let saas = try await syncSaaS(syncId: syncId, remaining: surfaces.saasReads)
                    var runs = 0
                    if case .read(_, _, let saasRuns)? = saas { runs += saasRuns }
                    runs += try await syncEndpoints(syncId: syncId, remaining: surfaces.endpointPages) ?? 0
                    return .surfaces(saas: saas, runs: runs)
                }
            }
            func startNext() {
                if let planned, !PollPlanner.hasUrgent(waiting, schedules: planned.schedules, now: clock()) { startSurfaces() }
                guard let device = nextDevice() else { return startSurfaces() }
                group.addTask {
                    do {
                        return .device(device, .success(try await client.assets(serialNumber: device.serialNumber)))
                    } catch let error as DattoError {
                        return .device(device, .failure(error))
                    }
                }
            }
            for _ in 0..<max(1, concurrency) { startNext() }
            while true {
                let next: Done?
                do {
                    next = try await group.next()
                } catch {
                    // Once the sync has failed on credentials, what the cancelled reads throw says nothing more.
                    if firstFatal != nil { continue }
                    throw error
                }
                guard let done = next else { break }
                switch done {
                case .surfaces(let outcome, let surfaceRuns):
                    saas = outcome
                    runs += surfaceRuns
                    continue
                case .device(let device, .success(let assets)):
                    agents += assets.count
                    runs += try await publish(device, assets: assets, syncId: syncId)
                case .device(let device, .failure(let error)):
                    // Credentials or scope failing mid-sync fail the sync; one device's trouble does not.
                    if [.unauthorized, .forbidden].contains(error.kind) {
                        firstFatal = firstFatal ?? error
                        group.cancelAll()
                        continue
                    }
                    failed += 1
                    logger.warning(
                        "could not read a device's assets",
                        metadata: ["tenant": "\(tenant)", "device": "\(device.serialNumber)", "error": "\(error.message)"])
                    _ = try await publish(device, assets: nil, syncId: syncId)
                }
                finished += 1
                onProgress?(finished, total)
                if firstFatal == nil { startNext() }
            }
        }
        if let firstFatal { throw firstFatal }
        // After the reads, so a due device is never kept waiting behind announcements; in one transaction.
        let unread = listed.filter { waiting.contains($0.serialNumber) }
        if !unread.isEmpty { try await announce(unread, syncId: syncId) }
        let elapsed = ContinuousClock.now - began
        return SyncSummary(
            devices: listed.count, agents: agents, runsObserved: runs, requests: client.requestsMade,
            failedDevices: failed, durationSeconds: DattoClient.seconds(elapsed), devicesRead: unread.isEmpty ? nil : started,
            saas: saas?.statusLine)
    }

    /// Reads the planned devices' alerts (one request each) and publishes each list whole; a device whose
    /// `alertCount` fell to 0 is published with none. One device's failure to answer leaves its alerts as they were.
    private func publishAlerts(_ plan: DeviceAlertReads.Plan, devices: [String: DattoDevice], syncId: String) async throws {
        var lists: [(DattoDevice, [DattoDeviceAlert])] = plan.cleared.compactMap { devices[$0].map { ($0, []) } }
        for serial in plan.read {
            guard let device = devices[serial] else { continue }
            do {
                lists.append((device, try await client.deviceAlerts(serialNumber: serial)))
            } catch let error as DattoError {
                if [.unauthorized, .forbidden].contains(error.kind) { throw error }
                logger.warning(
                    "could not read a device's Datto alerts",
                    metadata: ["tenant": "\(tenant)", "device": "\(serial)", "error": "\(error.message)"])
            }
        }
        guard !lists.isEmpty else { return }
        let (tenant, outbox, readAt, read) = (self.tenant, self.outbox, clock(), lists)
        try await database.write { db in
            for (device, alerts) in read {
                let customer = CustomerKey.of(device)
                try outbox.append(
                    DattoDeviceAlerts(
                        serialNumber: device.serialNumber, deviceName: device.name ?? device.serialNumber, customer: customer,
                        alerts: alerts.map {
                            DattoDeviceAlerts.Alert(type: $0.type, threshold: $0.threshold, unit: $0.unit, triggeredAt: $0.dateTriggered)
                        }, observedAt: readAt),
                    tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                try DeviceAlertReads.save(tenant: tenant, serial: device.serialNumber, count: alerts.count, readAt: readAt, db)
            }
        }
    }

    func loadSchedules() async throws -> [String: DeviceSchedule] {
        try await database.read { [tenant] db in try DeviceSchedule.all(tenant: tenant, db) }
    }

    /// Re-reads one device now (a retry's re-poll); returns the runs it had not published yet.
    func repoll(serialNumber: String, syncId: String) async throws -> (device: DattoDevice, newRuns: Int) {
        let device = try await client.device(serialNumber: serialNumber)
        let assets = try await client.assets(serialNumber: serialNumber)
        return (device, try await publish(device, assets: assets, syncId: syncId))
    }

    /// Devices this poll did not read, announced from the device list alone (their agents are left as they are).
    private func announce(_ devices: [DattoDevice], syncId: String) async throws {
        let tenant = self.tenant
        let outbox = self.outbox
        let readAt = clock()
        try await database.write { db in
            for device in devices {
                let customer = CustomerKey.of(device)
                try outbox.append(
                    DattoDeviceSeen(device, customer: customer, assetVolumes: nil, observedAt: readAt),
                    tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
            }
        }
    }

    /// One transaction per device: its announcements and its new runs commit together. Returns new runs.
    private func publish(_ device: DattoDevice, assets: [DattoAsset]?, syncId: String) async throws -> Int {
        let customer = CustomerKey.of(device)
        let tenant = self.tenant
        let outbox = self.outbox
        let readAt = clock()
        return try await database.write { db in
            try outbox.append(
                DattoDeviceSeen(device, customer: customer, assetVolumes: assets?.map(\.volume), observedAt: readAt),
                tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
            var published = 0
            let now = Date()
            for asset in assets ?? [] {
                try outbox.append(
                    DattoAgentSeen(asset, device: device, customer: customer, observedAt: readAt),
                    tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                let newest = asset.backups.max(by: { $0.timestamp < $1.timestamp })
                try ObservedRuns.saveAgentState(
                    tenant: tenant, serial: device.serialNumber, volume: asset.volume,
                    failing: newest.map { $0.status.lowercased() != "success" } ?? false, readAt: readAt, db)
                // Oldest first, so consumers see an agent's runs in the order they happened.
                for backup in asset.backups.sorted(by: { $0.timestamp < $1.timestamp }) {
                    guard
                        try ObservedRuns.firstSeen(
                            tenant: tenant, serial: device.serialNumber, volume: asset.volume, runAt: backup.timestamp, at: now, db)
                    else { continue }
                    try outbox.append(
                        BackupRunObserved(backup, asset: asset, device: device, customer: customer),
                        tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                    published += 1
                }
            }
            if let assets {
                let schedule = PollPlanner.schedule(
                    agents: assets.map { asset in
                        (
                            runs: asset.backups.map { (at: $0.timestamp, succeeded: $0.status.lowercased() == "success") },
                            active: !asset.isPaused && !asset.isArchived
                        )
                    },
                    readAt: readAt)
                try DeviceSchedule.save(
                    tenant: tenant, serial: device.serialNumber, readAt: readAt, nextDueAt: schedule.nextDueAt, failing: schedule.failing,
                    db)
            }
            return published
        }
    }
}
