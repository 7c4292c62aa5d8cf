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
        var planned: DeviceQueue.Plan?
        if let deviceReads = surfaces.deviceReads, deviceReads < listed.count {
            planned = DeviceQueue.Plan(schedules: try await loadSchedules(), reads: max(1, deviceReads))
        }
        var queue = DeviceQueue(listed: listed, plan: planned, strategy: strategy)
        var tally = SyncTally()
        onProgress?(0, queue.total)
        var surfacesStarted = false
        try await withThrowingTaskGroup(of: SyncRead.self) { group in
            // The other surfaces, one request at a time beside the device reads: started once no device is due or
            // unread, so the devices due at the start go first and the least recently read ones last — a device that
            // falls due while the poll goes on still finds device reads left.
            func startSurfaces() {
                guard !surfacesStarted else { return }
                surfacesStarted = true
                let devices = queue.bySerial
                group.addTask { try await readSurfaces(surfaces, devices: devices, syncId: syncId) }
            }
            func startNext() {
                if queue.nothingUrgent(now: clock()) { startSurfaces() }
                guard let device = queue.next(now: clock()) else { return startSurfaces() }
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
                let next: SyncRead?
                do {
                    next = try await group.next()
                } catch {
                    // Once the sync has failed on credentials, what the cancelled reads throw says nothing more.
                    if tally.fatal != nil { continue }
                    throw error
                }
                guard let read = next else { break }
                guard try await record(read, into: &tally, syncId: syncId) else {
                    group.cancelAll()
                    continue
                }
                if case .device = read {
                    tally.finished += 1
                    onProgress?(tally.finished, queue.total)
                    if tally.fatal == nil { startNext() }
                }
            }
        }
        if let fatal = tally.fatal { throw fatal }
        // After the reads, so a due device is never kept waiting behind announcements; in one transaction.
        let unread = queue.unread
        if !unread.isEmpty { try await announce(unread, syncId: syncId) }
        return SyncSummary(
            devices: listed.count, agents: tally.agents, runsObserved: tally.runs, requests: client.requestsMade,
            failedDevices: tally.failed, durationSeconds: DattoClient.seconds(ContinuousClock.now - began),
            devicesRead: unread.isEmpty ? nil : queue.started, saas: tally.saas?.statusLine)
    }

    /// Publishes what one finished read found into the tally. False when credentials or scope failed: that fails the
    /// sync, where one device's trouble does not.
    private func record(_ read: SyncRead, into tally: inout SyncTally, syncId: String) async throws -> Bool {
        switch read {
        case .surfaces(let outcome, let surfaceRuns):
            tally.saas = outcome
            tally.runs += surfaceRuns
        case .device(let device, .success(let assets)):
            tally.agents += assets.count
            tally.runs += try await publish(device, assets: assets, syncId: syncId)
        case .device(let device, .failure(let error)):
            if [.unauthorized, .forbidden].contains(error.kind) {
                tally.fatal = tally.fatal ?? error
                return false
            }
            tally.failed += 1
            logger.warning(
                "could not read a device's assets",
                metadata: ["tenant": "\(tenant)", "device": "\(device.serialNumber)", "error": "\(error.message)"])
            _ = try await publish(device, assets: nil, syncId: syncId)
        }
        return true
    }

    /// Datto's device alerts, then SaaS Protection, then Endpoint Backup, one request at a time within their shares.
    private func readSurfaces(_ surfaces: PollSurfaces, devices: [String: DattoDevice], syncId: String) async throws -> SyncRead {
        try await publishAlerts(surfaces.alerts, devices: devices, syncId: syncId)
        let saas = try await syncSaaS(syncId: syncId, remaining: surfaces.saasReads)
        var runs = 0
        if case .read(_, _, let saasRuns)? = saas { runs += saasRuns }
        runs += try await syncEndpoints(syncId: syncId, remaining: surfaces.endpointPages) ?? 0
        return .surfaces(saas: saas, runs: runs)
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

/// What one read of a sync ended with: a device's assets (or why not), or the other surfaces.
enum SyncRead: Sendable {
    case device(DattoDevice, Result<[DattoAsset], DattoError>)
    case surfaces(saas: SyncRunner.SaaSOutcome?, runs: Int)
}

/// What a sync has counted so far.
struct SyncTally {
    var agents = 0
    var runs = 0
    var failed = 0
    var finished = 0
    var saas: SyncRunner.SaaSOutcome?
    /// The first credentials or scope failure, which fails the sync.
    var fatal: DattoError?
}

/// Which device each freed request slot reads next: in the list's order, or — when the budget covers only part of the
/// fleet — the planner's pick from the devices' schedules.
struct DeviceQueue {
    struct Plan {
        var schedules: [String: DeviceSchedule]
        var reads: Int
    }

    let listed: [DattoDevice]
    let bySerial: [String: DattoDevice]
    let plan: Plan?
    let strategy: PollPlanner.Strategy
    private(set) var waiting: Set<String>
    private(set) var started = 0

    init(listed: [DattoDevice], plan: Plan?, strategy: PollPlanner.Strategy) {
        self.listed = listed
        self.bySerial = Dictionary(listed.map { ($0.serialNumber, $0) }, uniquingKeysWith: { first, _ in first })
        self.plan = plan
        self.strategy = strategy
        self.waiting = Set(listed.map(\.serialNumber))
    }

    /// Devices this sync will read.
    var total: Int { min(listed.count, plan?.reads ?? listed.count) }

    /// Devices listed and not read, in the list's order.
    var unread: [DattoDevice] { listed.filter { waiting.contains($0.serialNumber) } }

    /// True when a planned poll has no device due or never read left to go first.
    func nothingUrgent(now: Date) -> Bool {
        guard let plan else { return false }
        return !PollPlanner.hasUrgent(waiting, schedules: plan.schedules, now: now)
    }

    mutating func next(now: Date) -> DattoDevice? {
        let serial: String?
        if let plan {
            guard started < plan.reads else { return nil }
            serial = PollPlanner.next(from: waiting, schedules: plan.schedules, now: now, pick: started, strategy: strategy)
        } else {
            serial = listed.lazy.map(\.serialNumber).first { waiting.contains($0) }
        }
        guard let serial, let device = bySerial[serial] else { return nil }
        waiting.remove(serial)
        started += 1
        return device
    }
}
