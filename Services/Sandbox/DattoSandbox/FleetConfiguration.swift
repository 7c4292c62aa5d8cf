import Foundation

/// The shape of the generated Datto fleet. The same seed always gives the same fleet.
public struct FleetConfiguration: Sendable {
    public var seed: UInt64
    public var customers: Int
    public var devicesPerCustomer: Int
    public var agentsPerDevice: Int
    public var sharesPerDevice: Int
    /// Time between one agent's backups.
    public var cadence: Duration
    /// Runs each asset's `backups[]` holds (Datto shows about the last 10).
    public var historyLength: Int
    /// Agents failing from the start, and for how many nights before the sandbox's start.
    public var failingAgents: Int
    public var failingNights: Int
    /// One agent per this many has never backed up (it must still be announced).
    public var agentsWithoutBackupsEvery: Int
    /// Devices not yet assigned to any client in the portal (no organization, no company name).
    public var unassignedDevices: Int
    /// The sandbox's clock at start.
    public var start: Date
    /// Whether the clock also moves with real time (for a live demo), or only by `/_sandbox/clock/advance`.
    public var realTime: Bool
    /// With `realTime`, how many sandbox seconds pass per real second (1440: a day a minute).
    public var speed: Double
    /// Whether the agents of one device start their backups at the same minute (one schedule per appliance)
    /// rather than each at its own.
    public var schedulePerDevice: Bool = false
    /// SaaS Protection domains per customer (`/v1/saas/domains`), each backing up Exchange, OneDrive and SharePoint
    /// daily; none by default.
    public var saasDomainsPerCustomer: Int = 0
    /// Endpoint Backup (Direct-to-Cloud) agents per customer (`/v1/dtc/assets`), backing up daily; none by default.
    public var endpointsPerCustomer: Int = 0

    public init(
        seed: UInt64 = 42, customers: Int = 5, devicesPerCustomer: Int = 2, agentsPerDevice: Int = 4,
        sharesPerDevice: Int = 1, cadence: Duration = .seconds(24 * 3600), historyLength: Int = 10,
        failingAgents: Int = 2, failingNights: Int = 2, agentsWithoutBackupsEvery: Int = 9, unassignedDevices: Int = 1,
        start: Date = FleetConfiguration.defaultStart, realTime: Bool = false, speed: Double = 1
    ) {
        self.speed = speed
        self.seed = seed
        self.customers = customers
        self.devicesPerCustomer = devicesPerCustomer
        self.agentsPerDevice = agentsPerDevice
        self.sharesPerDevice = sharesPerDevice
        self.cadence = cadence
        self.historyLength = historyLength
        self.failingAgents = failingAgents
        self.failingNights = failingNights
        self.agentsWithoutBackupsEvery = agentsWithoutBackupsEvery
        self.unassignedDevices = unassignedDevices
        self.start = start
        self.realTime = realTime
    }

    /// Total devices the fleet starts with.
    public var deviceCount: Int { customers * devicesPerCustomer + unassignedDevices }

    /// Now, rounded down to the hour plus 30 minutes: runs (on the hour) are never being written "right now".
    public static var defaultStart: Date {
        let now = Date().timeIntervalSince1970
        return Date(timeIntervalSince1970: (now / 3600).rounded(.down) * 3600 + 1800)
    }
}

/// API keys the sandbox accepts, and what each may do.
public struct SandboxKey: Sendable, Codable, Equatable {
    public enum Scope: String, Sendable, Codable { case bcdr, none }
    public var publicKey: String
    public var secretKey: String
    public var scope: Scope

    public init(publicKey: String, secretKey: String, scope: Scope) {
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.scope = scope
    }
}

/// How the sandbox server is set up.
public struct DattoSandboxConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var fleet: FleetConfiguration
    public var keys: [SandboxKey]
    /// The region the simulated partner account lives in; requests through the other region's base path get
    /// 404 on `/bcdr/device`. The real API has a single host (see docs/datto-sandbox.md); this is a local convention.
    public var accountRegion: String
    /// When above 0, requests beyond this many per key per `rateWindow` get 429 with `Retry-After`.
    public var enforcedRequestsPerMinute: Int
    /// The window requests are counted in (a minute, like Datto; shorter in tests).
    public var rateWindow: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 9081, fleet: FleetConfiguration = FleetConfiguration(),
        keys: [SandboxKey] = DattoSandboxConfiguration.defaultKeys, accountRegion: String = "us",
        enforcedRequestsPerMinute: Int = 0, rateWindow: Duration = .seconds(60)
    ) {
        self.host = host
        self.port = port
        self.fleet = fleet
        self.keys = keys
        self.accountRegion = accountRegion
        self.enforcedRequestsPerMinute = enforcedRequestsPerMinute
        self.rateWindow = rateWindow
    }

    /// A working key pair, and a pair whose key lacks the BCDR scope.
    public static let defaultKeys = [
        SandboxKey(publicKey: "sandbox-public-key", secretKey: "sandbox-secret-7c4f1e9a2b", scope: .bcdr),
        SandboxKey(publicKey: "sandbox-noscope-key", secretKey: "sandbox-secret-noscope-5d3a", scope: .none)
    ]
}
