import Foundation

/// SplitMix64: small, fast and the same on every platform, so a seed always gives the same fleet.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct SandboxCustomer: Sendable {
    /// Nil for older tenants that only have a company name.
    var organizationId: Int?
    var name: String?
}

struct SandboxDevice: Sendable {
    var serialNumber: String
    var name: String
    var model: String
    var customer: Int
    var hidden: Bool
    /// Since when the appliance has not checked in: its `lastSeenDate` stays there and no new run reaches
    /// Datto until it is back (then the runs it took meanwhile appear).
    var offlineSince: Date?
    var internalIP: String
    var localUsedGB: Int
    var localAvailableGB: Int
    var offsiteUsedGB: Int
    var assets: [SandboxAsset]
    /// Local storage filling at a steady rate from `start` (GB a day), until it is full or freed.
    var filling: (start: Date, usedGB: Double, gbPerDay: Double)? = nil
    /// Datto's own alerts on the appliance (`/alert`), in the order raised.
    var alerts: [SandboxDeviceAlert] = []

    /// Used and available local storage at `now`, in GB.
    func storage(at now: Date) -> (used: Int, available: Int) {
        let capacity = localUsedGB + localAvailableGB
        guard let filling else { return (localUsedGB, localAvailableGB) }
        let days = max(0, now.timeIntervalSince(filling.start) / 86_400)
        let used = min(Double(capacity), filling.usedGB + filling.gbPerDay * days)
        return (Int(used.rounded()), capacity - Int(used.rounded()))
    }
}

struct SandboxAsset: Sendable {
    enum Kind: String, Sendable { case agent, share }
    var volume: String
    var assetId: Int
    var name: String
    var kind: Kind
    var os: String?
    var ip: String?
    var agentVersion: String?
    /// The first backup's time; later ones follow every `cadence`. After `now` means "no backups yet".
    var firstRun: Date
    var cadence: TimeInterval
    var isPaused: Bool
    var isArchived: Bool
    /// Runs inside one of these windows fail.
    var failureWindows: [Range<Date>]
    /// Runs inside one of these windows never happen: the agent went silent (no failure, just nothing).
    var silentWindows: [Range<Date>] = []
    /// Since when offsite replication has stalled: `latestOffsite` stays at the last copy made before then.
    var offsiteStalledSince: Date?
    /// Backups taken inside one of these windows fail their screenshot verification (they succeed as backups).
    var screenshotFailureWindows: [Range<Date>] = []
    /// Some runs report `backup.totalUsedStorage` (only one source saw it live); most do not.
    var reportsSize: Bool
}

extension SandboxAsset {
    /// Whether the screenshot verification of a backup taken at `time` boots.
    func screenshotBoots(_ time: Date) -> Bool { !screenshotFailureWindows.contains { $0.contains(time) } }
}

/// One of Datto's own device alerts: no id and no cleared flag, as Datto sends them; cleared means no longer listed.
public struct SandboxDeviceAlert: Sendable, Codable, Equatable {
    public var type: String
    public var threshold: Int
    public var unit: String
    public var triggeredAt: Date
}

/// One backup run as the sandbox knows it.
public struct SandboxRun: Sendable, Codable, Equatable {
    public var serialNumber: String
    public var volume: String
    public var timestamp: Date
    public var succeeded: Bool
    public var errorMessage: String?
    public var sizeBytes: Int64?
}

/// The generated fleet and every change scenarios made to it.
/// A SaaS Protection customer (a Microsoft 365 domain) and its applications, each backing up like an agent.
struct SandboxSaaSDomain: Sendable {
    var saasCustomerId: Int
    var customer: Int
    var domain: String
    /// Exchange, OneDrive, SharePoint: assets whose `name` is the application type.
    var applications: [SandboxAsset]

    /// A stand-in device, so the applications' runs come from the same generator as agents'.
    var device: SandboxDevice {
        SandboxDevice(
            serialNumber: "saas-\(saasCustomerId)", name: domain, model: "SaaS", customer: customer, hidden: false, internalIP: "",
            localUsedGB: 0, localAvailableGB: 0, offsiteUsedGB: 0, assets: applications)
    }
}

struct Fleet: Sendable {
    var customers: [SandboxCustomer]
    var devices: [SandboxDevice]
    var saasDomains: [SandboxSaaSDomain] = []
    /// Endpoint Backup agents, with their customer: assets whose `volume` is the `assetUuid`.
    var endpoints: [(customer: Int, asset: SandboxAsset)] = []
    /// `/v1/saas/…` answers 403, as for a key without the SaaS Protection scope.
    var saasForbidden = false
    var historyLength: Int
    var cadence: TimeInterval
    var nextAssetId = 1_000

    static let errorMessages = [
        "BKP0615 Backup skipped due to not enough free space",
        "Failed to connect to the agent: connection timed out",
        "VSS writer 'SqlServerWriter' failed: retryable error",
        "Snapshot failed: the agent service is not running"
    ]
    static let operatingSystems = ["Windows Server 2022", "Windows Server 2019", "Windows 11 Pro", "Ubuntu 22.04"]

    init(_ configuration: FleetConfiguration) {
        var random = SeededGenerator(seed: configuration.seed)
        historyLength = configuration.historyLength
        cadence = Double(configuration.cadence.components.seconds)
        let companies = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]
        customers = (0..<configuration.customers).map { index in
            let name =
                "\(companies[index % companies.count]) \(["Corp", "LLC", "Ltd", "GmbH"][index % 4])"
                + (index >= companies.count ? " \(index / companies.count + 1)" : "")
            // Every fourth customer is an older tenant without an organization id.
            return SandboxCustomer(organizationId: index % 4 == 3 ? nil : 100_000 + index * 7, name: name)
        }
        if configuration.unassignedDevices > 0 {
            customers.append(SandboxCustomer(organizationId: nil, name: nil))
        }
        devices = []
        var agentCounter = 0
        var failing = configuration.failingAgents
        let start = configuration.start
        let plan =
            (0..<configuration.customers).flatMap { customer in
                (0..<configuration.devicesPerCustomer).map { (customer, $0) }
            } + (0..<configuration.unassignedDevices).map { (configuration.customers, $0) }
        for (customerIndex, deviceIndex) in plan {
            do {
                let serial = String(format: "%012llX", random.next() & 0xFFFF_FFFF_FFFF)
                var assets: [SandboxAsset] = []
                let deviceOffset = Double(random.next() % 180) * 60
                for agentIndex in 0..<(configuration.agentsPerDevice + configuration.sharesPerDevice) {
                    let isShare = agentIndex >= configuration.agentsPerDevice
                    agentCounter += 1
                    let volume = String(format: "%016llx%016llx", random.next(), random.next())
                    // Nightly runs at 01:00 plus a per-agent offset of up to 3 hours.
                    let ownOffset = Double(random.next() % 180) * 60
                    let offset = configuration.schedulePerDevice ? deviceOffset : ownOffset
                    let midnight = (start.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
                    var firstRun = Date(timeIntervalSince1970: midnight - 30 * 86_400 + 3_600 + offset)
                    if !isShare, configuration.agentsWithoutBackupsEvery > 0,
                        agentCounter % configuration.agentsWithoutBackupsEvery == 0
                    {
                        firstRun = start.addingTimeInterval(cadence / 2)  // protected, first backup not yet run
                    }
                    var windows: [Range<Date>] = []
                    if !isShare, failing > 0, firstRun < start, agentCounter % 3 == 1 {
                        failing -= 1
                        let from = start.addingTimeInterval(-Double(configuration.failingNights) * 86_400)
                        windows.append(from..<start.addingTimeInterval(365 * 86_400))
                    }
                    assets.append(
                        SandboxAsset(
                            volume: volume, assetId: 0,
                            name: isShare
                                ? "\(companies[customerIndex % companies.count].uppercased())-SHARE\(deviceIndex + 1)"
                                : "\(companies[customerIndex % companies.count].uppercased())-SRV\(deviceIndex + 1)\(agentIndex + 1)",
                            kind: isShare ? .share : .agent,
                            os: isShare ? nil : Self.operatingSystems[Int(random.next() % 4)],
                            ip: isShare ? nil : "10.\(customerIndex).\(deviceIndex).\(agentIndex + 10)",
                            agentVersion: isShare ? nil : "3.\(random.next() % 4).\(random.next() % 9).0",
                            firstRun: firstRun, cadence: cadence, isPaused: false, isArchived: false,
                            failureWindows: windows, reportsSize: agentCounter % 2 == 0))
                }
                // Drawn in the order they always were, so a seed gives the same fleet. Under 50% used: a generated
                // appliance is healthy until a scenario fills it.
                let model = ["S5-4", "S5-8", "ALTO4", "S4-2"][Int(random.next() % 4)]
                let used = Int(random.next() % 3_000) + 100
                devices.append(
                    SandboxDevice(
                        serialNumber: serial, name: "\(companies[customerIndex % companies.count].uppercased())-SIRIS-\(deviceIndex + 1)",
                        model: model, customer: customerIndex,
                        hidden: false, internalIP: "10.\(customerIndex).\(deviceIndex).2",
                        localUsedGB: used, localAvailableGB: Int(random.next() % 3_000) + 500 + used,
                        offsiteUsedGB: Int(random.next() % 4_000) + 100, assets: assets))
            }
        }
        // SaaS domains after everything else is drawn, so a seed gives the same BCDR fleet with or without them.
        for customer in 0..<(configuration.saasDomainsPerCustomer > 0 ? configuration.customers : 0) {
            for number in 0..<configuration.saasDomainsPerCustomer {
                let id = 50_000 + customer * 10 + number
                let domain = "\(companies[customer % companies.count].lowercased())\(number == 0 ? "" : "\(number + 1)").example"
                let applications = ["Exchange", "OneDrive", "SharePoint"].map { app in
                    SandboxAsset(
                        volume: "saas-\(id)-\(app.lowercased())", assetId: 0, name: app, kind: .agent, os: nil, ip: nil, agentVersion: nil,
                        firstRun: start.addingTimeInterval(-Double(configuration.historyLength) * cadence + 5_400), cadence: cadence,
                        isPaused: false, isArchived: false, failureWindows: [], reportsSize: false)
                }
                saasDomains.append(SandboxSaaSDomain(saasCustomerId: id, customer: customer, domain: domain, applications: applications))
            }
        }
        for customer in 0..<(configuration.endpointsPerCustomer > 0 ? configuration.customers : 0) {
            for number in 0..<configuration.endpointsPerCustomer {
                let uuid = String(format: "%08x-0000-4000-8000-%012x", 0xE000_0000 + customer, number)
                endpoints.append(
                    (
                        customer,
                        SandboxAsset(
                            volume: uuid, assetId: 0, name: "\(companies[customer % companies.count].uppercased())-LT\(number + 1)",
                            kind: .agent,
                            os: "Windows 11 Pro", ip: nil, agentVersion: nil,
                            firstRun: start.addingTimeInterval(-Double(configuration.historyLength) * cadence + 7_200), cadence: cadence,
                            isPaused: false, isArchived: false, failureWindows: [], reportsSize: false)
                    ))
            }
        }
        // Show the flags are carried, not dropped: one hidden device, one paused and one archived agent.
        if devices.count > 2 { devices[devices.count - 1].hidden = true }
        if let device = devices.indices.first, devices[device].assets.count > 2 {
            devices[device].assets[1].isPaused = true
            devices[device].assets[2].isArchived = true
        }
        for device in devices.indices {
            for asset in devices[device].assets.indices {
                devices[device].assets[asset].assetId = nextAssetId
                nextAssetId += 1
            }
        }
    }

    /// Runs of an asset up to `now`, newest first, at most `historyLength`.
    func runs(of asset: SandboxAsset, on device: SandboxDevice, now: Date) -> [SandboxRun] {
        guard asset.firstRun <= now else { return [] }
        let last = Int(((now.timeIntervalSince(asset.firstRun)) / asset.cadence).rounded(.down))
        let first = max(0, last - historyLength + 1)
        return (first...last).reversed().compactMap { index in
            let time = asset.firstRun.addingTimeInterval(Double(index) * asset.cadence)
            if asset.silentWindows.contains(where: { $0.contains(time) }) { return nil }
            let failed = asset.failureWindows.contains { $0.contains(time) }
            let hash = Int((UInt64(bitPattern: Int64(time.timeIntervalSince1970)) ^ UInt64(asset.assetId)) % 4)
            return SandboxRun(
                serialNumber: device.serialNumber, volume: asset.volume, timestamp: time, succeeded: !failed,
                errorMessage: failed ? Self.errorMessages[hash] : nil,
                sizeBytes: asset.reportsSize && !failed ? Int64(40_000_000_000 + hash * 1_000_000_000 + index * 10_000_000) : nil)
        }
    }

    /// Paused and archived assets stop taking new backups at the sandbox's start; an offline appliance's new
    /// runs are not visible until it checks in again.
    func visibleRuns(of asset: SandboxAsset, on device: SandboxDevice, now: Date, start: Date) -> [SandboxRun] {
        var until = asset.isPaused || asset.isArchived ? min(now, start) : now
        if let offline = device.offlineSince { until = min(until, offline) }
        return runs(of: asset, on: device, now: until)
    }
}
