import Foundation
import Synchronization

/// Everything the sandbox holds: the fleet, its clock, queued faults and the request log.
public final class SandboxState: Sendable {
    public let configuration: DattoSandboxConfiguration
    let fleet: Mutex<Fleet>
    private let clockOffset = Mutex<TimeInterval>(0)
    private let startedAt = ContinuousClock.now
    let faults = Mutex<[SandboxFault]>([])
    let requests = Mutex<RequestLog>(RequestLog())

    /// `/alert` requests answered so far: what reading Datto's own device alerts costs.
    public var deviceAlertReads: Int { requestsBySurface()[.deviceAlerts] ?? 0 }

    /// Authenticated requests so far, by what they read: where a key's budget went.
    public func requestsBySurface() -> [DattoSurface: Int] { requests.withLock { $0.bySurface } }

    public init(configuration: DattoSandboxConfiguration) {
        self.configuration = configuration
        fleet = Mutex(Fleet(configuration.fleet))
    }

    /// The sandbox's "now": its start, plus advances, plus real time when configured.
    public var now: Date {
        var seconds = clockOffset.withLock { $0 }
        if configuration.fleet.realTime {
            let elapsed = ContinuousClock.now - startedAt
            seconds += (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * configuration.fleet.speed
        }
        return configuration.fleet.start.addingTimeInterval(seconds)
    }

    /// The first instant after `now`. A run at exactly `now` has already been listed, so what changes "from now"
    /// starts after it and what ends "now" ends after it: a run keeps the status it was first shown with.
    private var afterNow: Date { Date(timeIntervalSinceReferenceDate: now.timeIntervalSinceReferenceDate.nextUp) }

    public func advanceClock(by seconds: TimeInterval) {
        clockOffset.withLock { $0 += seconds }
    }

    /// Every run the API currently shows (each asset's recent history), for tests to compare against.
    public func visibleRuns() -> [SandboxRun] {
        let now = self.now
        let start = configuration.fleet.start
        return fleet.withLock { fleet in
            fleet.devices.flatMap { device in
                device.assets.flatMap { fleet.visibleRuns(of: $0, on: device, now: now, start: start) }
            }
        }
    }

    public var deviceCount: Int { fleet.withLock { $0.devices.count } }

    /// A device as the sandbox holds it, for tests that compute what Vectis should show on their own.
    public struct InventoryDevice: Sendable {
        public var serialNumber: String
        public var organizationId: Int?
        public var companyName: String?
        public var hidden: Bool
        public var assets: [(volume: String, name: String, kind: String)]
    }

    public func inventory() -> [InventoryDevice] {
        fleet.withLock { fleet in
            fleet.devices.map { device in
                let customer = fleet.customers[device.customer]
                return InventoryDevice(
                    serialNumber: device.serialNumber, organizationId: customer.organizationId, companyName: customer.name,
                    hidden: device.hidden, assets: device.assets.map { ($0.volume, $0.name, $0.kind.rawValue) })
            }
        }
    }

    /// The runs the API shows right now, with their error messages.
    public func visibleRunDetails() -> [SandboxRun] { visibleRuns() }

    /// The most requests one key made in any rate window.
    public func maxRequestsPerWindow(publicKey: String) -> Int {
        requests.withLock { $0.keys[publicKey]?.maxPerWindow ?? 0 }
    }

    public func queue(_ fault: SandboxFault) {
        faults.withLock { $0.append(fault) }
    }

    public func clearFaults() {
        faults.withLock { $0.removeAll() }
    }
    public var assetCount: Int { fleet.withLock { $0.devices.reduce(0) { $0 + $1.assets.count } } }

    /// Serial and volume of every asset, for scenario tests.
    public func assets() -> [(serialNumber: String, volume: String, kind: String, hasRuns: Bool)] {
        let now = self.now
        return fleet.withLock { fleet in
            fleet.devices.flatMap { device in
                device.assets.map { (device.serialNumber, $0.volume, $0.kind.rawValue, $0.firstRun <= now) }
            }
        }
    }

    /// Makes the asset's runs fail from now on for `nights` nights.
    public func fail(volume: String, nights: Int) -> Bool {
        let start = afterNow
        return updateAsset(volume) { asset in
            asset.failureWindows.append(Range(nights: nights, from: start))
        }
    }

    /// Ends every failure of the asset now.
    public func recover(volume: String) -> Bool {
        let end = afterNow
        return updateAsset(volume) { asset in
            asset.failureWindows = asset.failureWindows.ended(at: end)
        }
    }

    /// The asset's backups from now on fail their screenshot verification for `nights` nights (the backups succeed).
    public func failScreenshots(volume: String, nights: Int) -> Bool {
        let start = afterNow
        return updateAsset(volume) { $0.screenshotFailureWindows.append(Range(nights: nights, from: start)) }
    }

    /// Screenshot verifications boot again from now.
    public func fixScreenshots(volume: String) -> Bool {
        let end = afterNow
        return updateAsset(volume) { asset in
            asset.screenshotFailureWindows = asset.screenshotFailureWindows.ended(at: end)
        }
    }

    /// The appliance's local storage set to `fromPercent` now and filling steadily to `toPercent` over `days` days
    /// (and on, at the same rate, until full); returns the date it will be full, or nil for an unknown appliance.
    @discardableResult
    public func fillStorage(serialNumber: String, fromPercent: Double, toPercent: Double, days: Double) -> Date? {
        let now = self.now
        return fleet.withLock { fleet in
            guard let index = fleet.devices.firstIndex(where: { $0.serialNumber == serialNumber }), days > 0, toPercent > fromPercent
            else { return nil }
            let capacity = Double(fleet.devices[index].localUsedGB + fleet.devices[index].localAvailableGB)
            let start = capacity * fromPercent / 100
            let rate = capacity * (toPercent - fromPercent) / 100 / days
            fleet.devices[index].filling = (now, start, rate)
            return now.addingTimeInterval((capacity - start) / rate * 86_400)
        }
    }

    /// Space freed: the appliance's storage at `percent` from now, no longer growing.
    public func freeStorage(serialNumber: String, percent: Double) -> Bool {
        fleet.withLock { fleet in
            guard let index = fleet.devices.firstIndex(where: { $0.serialNumber == serialNumber }) else { return false }
            let capacity = fleet.devices[index].localUsedGB + fleet.devices[index].localAvailableGB
            let used = Int((Double(capacity) * min(max(percent, 0), 100) / 100).rounded())
            (fleet.devices[index].localUsedGB, fleet.devices[index].localAvailableGB) = (used, capacity - used)
            fleet.devices[index].filling = nil
            return true
        }
    }

    /// Datto raises one of its own alerts on the appliance now (listed by `/alert`, counted in `alertCount`).
    public func raiseDeviceAlert(serialNumber: String, type: String, threshold: Int = 60, unit: String = "Minutes") -> Bool {
        let now = self.now
        return fleet.withLock { fleet in
            guard let index = fleet.devices.firstIndex(where: { $0.serialNumber == serialNumber }) else { return false }
            fleet.devices[index].alerts.append(SandboxDeviceAlert(type: type, threshold: threshold, unit: unit, triggeredAt: now))
            return true
        }
    }

    /// Datto clears the appliance's alerts of this type (every alert with nil): they are no longer listed.
    public func clearDeviceAlerts(serialNumber: String, type: String? = nil) -> Bool {
        fleet.withLock { fleet in
            guard let index = fleet.devices.firstIndex(where: { $0.serialNumber == serialNumber }) else { return false }
            fleet.devices[index].alerts.removeAll { type == nil || $0.type == type }
            return true
        }
    }

    /// The SaaS Protection customers: id, domain and each application's volume (as the collector names them).
    public func saasDomains() -> [(saasCustomerId: Int, domain: String, applications: [(name: String, volume: String)])] {
        fleet.withLock { fleet in
            fleet.saasDomains.map { ($0.saasCustomerId, $0.domain, $0.applications.map { ($0.name, $0.volume) }) }
        }
    }

    /// A SaaS application's backups fail from now for `nights` nights.
    public func failSaaS(saasCustomerId: Int, application: String, nights: Int) -> Bool {
        let start = afterNow
        return updateSaaS(saasCustomerId, application) {
            $0.failureWindows.append(Range(nights: nights, from: start))
        }
    }

    /// A SaaS application's backups succeed again from now.
    public func recoverSaaS(saasCustomerId: Int, application: String) -> Bool {
        let end = afterNow
        return updateSaaS(saasCustomerId, application) { app in
            app.failureWindows = app.failureWindows.ended(at: end)
        }
    }

    /// The Endpoint Backup agents: `assetUuid` and name.
    public func endpoints() -> [(assetUuid: String, name: String)] {
        fleet.withLock { $0.endpoints.map { ($0.asset.volume, $0.asset.name) } }
    }

    /// An endpoint's backups fail from now for `nights` nights (`false` in `last10Backups`).
    public func failEndpoint(assetUuid: String, nights: Int) -> Bool {
        let start = afterNow
        return fleet.withLock { fleet in
            guard let index = fleet.endpoints.firstIndex(where: { $0.asset.volume == assetUuid }) else { return false }
            fleet.endpoints[index].asset.failureWindows.append(Range(nights: nights, from: start))
            return true
        }
    }

    /// `/v1/saas/…` answers 403 (a key without the SaaS Protection scope), or answers again with `false`.
    public func forbidSaaS(_ forbidden: Bool = true) {
        fleet.withLock { $0.saasForbidden = forbidden }
    }

    private func updateSaaS(_ id: Int, _ application: String, _ change: (inout SandboxAsset) -> Void) -> Bool {
        fleet.withLock { fleet in
            guard let domain = fleet.saasDomains.firstIndex(where: { $0.saasCustomerId == id }),
                let app = fleet.saasDomains[domain].applications.firstIndex(where: { $0.name.lowercased() == application.lowercased() })
            else { return false }
            change(&fleet.saasDomains[domain].applications[app])
            return true
        }
    }

    /// The agent stops backing up from now (no failed run: nothing at all) until `resume`.
    public func silence(volume: String) -> Bool {
        let start = afterNow
        return updateAsset(volume) { $0.silentWindows.append(start..<Date.distantFuture) }
    }

    /// Ends the agent's silence: its next scheduled run happens again.
    public func resume(volume: String) -> Bool {
        let end = afterNow
        return updateAsset(volume) { asset in
            asset.silentWindows = asset.silentWindows.ended(at: end)
        }
    }

    /// Offsite replication of the agent stops from now (`latestOffsite` stays), or starts again with `false`.
    public func stallOffsite(volume: String, _ stalled: Bool = true) -> Bool {
        let now = self.now
        return updateAsset(volume) { $0.offsiteStalledSince = stalled ? now : nil }
    }

    /// The appliance stops checking in from now (`lastSeenDate` stays, new runs stay on it), or is back with `false`.
    public func setOffline(serialNumber: String, _ offline: Bool = true) -> Bool {
        let now = self.now
        return fleet.withLock { fleet in
            guard let index = fleet.devices.firstIndex(where: { $0.serialNumber == serialNumber }) else { return false }
            fleet.devices[index].offlineSince = offline ? now : nil
            return true
        }
    }

    private func updateAsset(_ volume: String, _ change: (inout SandboxAsset) -> Void) -> Bool {
        fleet.withLock { fleet in
            for device in fleet.devices.indices {
                if let asset = fleet.devices[device].assets.firstIndex(where: { $0.volume == volume }) {
                    change(&fleet.devices[device].assets[asset])
                    return true
                }
            }
            return false
        }
    }

    /// Takes an agent off its device, as when it is deleted in the Partner Portal.
    public func removeAgent(volume: String) -> Bool {
        fleet.withLock { fleet in
            for device in fleet.devices.indices {
                if let index = fleet.devices[device].assets.firstIndex(where: { $0.volume == volume }) {
                    fleet.devices[device].assets.remove(at: index)
                    return true
                }
            }
            return false
        }
    }

    /// Renames a customer (an index into the generated customers) in the portal.
    public func renameCustomer(_ index: Int, to name: String) -> Bool {
        fleet.withLock { fleet in
            guard fleet.customers.indices.contains(index) else { return false }
            fleet.customers[index].name = name
            return true
        }
    }

    /// Adds a device for customer `customer` (an index) with `agents` agents that have not backed up yet.
    public func addDevice(customer: Int, agents: Int) -> String {
        let now = self.now
        return fleet.withLock { fleet in
            let serial = String(format: "%012llX", UInt64(0xA0_0000_0000) + UInt64(fleet.nextAssetId))
            var device = SandboxDevice(
                serialNumber: serial, name: "NEW-SIRIS-\(fleet.devices.count + 1)", model: "S5-4",
                customer: min(max(0, customer), fleet.customers.count - 1), hidden: false, internalIP: "10.99.0.2",
                localUsedGB: 10, localAvailableGB: 2_000, offsiteUsedGB: 0, assets: [])
            for index in 0..<agents {
                device.assets.append(newAgent(&fleet, name: "NEW-AGENT-\(index + 1)", now: now))
            }
            fleet.devices.append(device)
            return serial
        }
    }

    /// Adds an agent that has not backed up yet to a device; its volume, or nil for an unknown device.
    public func addAgent(serialNumber: String, name: String, os: String = "Windows Server 2022") -> String? {
        let now = self.now
        return fleet.withLock { fleet in
            guard let device = fleet.devices.firstIndex(where: { $0.serialNumber == serialNumber }) else { return nil }
            var agent = newAgent(&fleet, name: name, now: now)
            agent.os = os
            fleet.devices[device].assets.append(agent)
            return agent.volume
        }
    }

    private func newAgent(_ fleet: inout Fleet, name: String, now: Date) -> SandboxAsset {
        fleet.nextAssetId += 1
        return SandboxAsset(
            volume: String(format: "%032llx", UInt64(fleet.nextAssetId) &* 0x9E37_79B9_7F4A_7C15), assetId: fleet.nextAssetId,
            name: name, kind: .agent, os: "Windows Server 2022", ip: "10.99.0.\(fleet.nextAssetId % 200 + 10)",
            agentVersion: "3.2.1.0", firstRun: now.addingTimeInterval(fleet.cadence), cadence: fleet.cadence,
            isPaused: false, isArchived: false, failureWindows: [], reportsSize: false)
    }
}

/// A fault queued through `/_sandbox/faults`, applied to the next matching requests.
public struct SandboxFault: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case unauthorized, forbidden
        case wrongRegion = "wrong-region"
        case rateLimit = "rate-limit"
        case gatewayTimeout = "gateway-timeout"
        case slow, malformed, truncated
        case indexKeyedAssets = "index-keyed-assets"
        case envelopeAssets = "envelope-assets"
        /// A 200 whose body never ends in time: `bytes` (default 80 MiB) of JSON, streamed without a length.
        case huge
        /// A 200 with no body at all.
        case empty
        /// Valid JSON in the wrong shape: fields of the wrong type, the list where an object belongs.
        case wrongShape = "wrong-shape"
        /// A 502 from a proxy in front of the API: HTML, not JSON.
        case proxyError = "proxy-error"
        /// A 500 with Datto's JSON error body.
        case serverError = "server-error"
    }

    public var fault: Kind
    /// How many requests it affects.
    public var count: Int?
    /// Only requests whose path contains this.
    public var path: String?
    public var retryAfterSeconds: Int?
    public var delayMilliseconds: Int?
    /// For `huge`: how many bytes the body has.
    public var bytes: Int?

    public init(
        fault: Kind, count: Int? = 1, path: String? = nil, retryAfterSeconds: Int? = nil, delayMilliseconds: Int? = nil,
        bytes: Int? = nil
    ) {
        self.bytes = bytes
        self.fault = fault
        self.count = count
        self.path = path
        self.retryAfterSeconds = retryAfterSeconds
        self.delayMilliseconds = delayMilliseconds
    }
}

/// Requests per API key, with the most seen in any 60-second window.
/// What a Datto request reads, for counting where the budget goes.
public enum DattoSurface: String, Sendable, CaseIterable {
    case deviceList = "device list"
    case devices = "device assets"
    case screenshots
    case deviceAlerts = "device alerts"
    case saas = "SaaS Protection"
    case endpoints = "Endpoint Backup"
    case other

    init(path: String) {
        let parts = path.split(separator: "/")
        guard let v1 = parts.firstIndex(of: "v1") else {
            self = .other
            return
        }
        let route = Array(parts[(v1 + 1)...])
        switch (route.first, route.count) {
        case ("bcdr", 2): self = .deviceList
        case ("bcdr", _) where route.last == "alert": self = .deviceAlerts
        case ("bcdr", _) where route.last == "latest": self = .screenshots
        case ("bcdr", _): self = .devices
        case ("saas", _): self = .saas
        case ("dtc", _): self = .endpoints
        default: self = .other
        }
    }
}

struct RequestLog: Sendable {
    struct PerKey: Sendable {
        var recent: [ContinuousClock.Instant] = []
        var total = 0
        var maxPerWindow = 0
    }

    var keys: [String: PerKey] = [:]
    var total = 0
    var bySurface: [DattoSurface: Int] = [:]

    /// Records a request; returns how many this key made in the last `window`, this one included.
    mutating func record(key: String, surface: DattoSurface, window: Duration, at instant: ContinuousClock.Instant = .now) -> Int {
        total += 1
        bySurface[surface, default: 0] += 1
        var entry = keys[key] ?? PerKey()
        entry.recent.removeAll { instant - $0 >= window }
        entry.recent.append(instant)
        entry.total += 1
        entry.maxPerWindow = max(entry.maxPerWindow, entry.recent.count)
        keys[key] = entry
        return entry.recent.count
    }
}

extension SandboxState {
    /// Takes the first queued fault that matches `path`, if any.
    func takeFault(path: String) -> SandboxFault? {
        faults.withLock { queue in
            guard let index = queue.firstIndex(where: { $0.path.map { path.contains($0) } ?? true }) else { return nil }
            let fault = queue[index]
            let remaining = (fault.count ?? 1) - 1
            if remaining > 0 { queue[index].count = remaining } else { queue.remove(at: index) }
            return fault
        }
    }
}

extension Range where Bound == Date {
    /// `nights` nights of a window starting at `start`.
    init(nights: Int, from start: Date) {
        self = start..<start.addingTimeInterval(Double(nights) * 86_400)
    }
}

extension Array where Element == Range<Date> {
    /// The windows cut off at `end`: nothing of them after it, what came before unchanged.
    func ended(at end: Date) -> [Range<Date>] {
        map { $0.lowerBound..<Swift.min($0.upperBound, Swift.max($0.lowerBound, end)) }
    }
}
