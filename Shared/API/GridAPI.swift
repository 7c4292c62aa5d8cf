import Foundation
import VectisContracts

// The backups service's at-a-glance shapes (`docs/openapi/backups.json`): the status grid, success rates and the
// fleet dashboard. Every figure comes from the per-night roll-up the service keeps as runs and conditions arrive.

/// How a night with several runs becomes one cell (Backup Radar's three modes).
public enum RollUp: String, Codable, Sendable, CaseIterable {
    /// Any failed run marks the night: `partial` when another run succeeded, `failure` when none did (the default).
    case worst
    /// The night's latest run decides.
    case last
    /// One successful run is enough.
    case best
}

/// One agent's night in the grid.
public struct NightCell: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Runs, all successful (or, rolled up `best`/`last`, one that counts).
        case success
        /// Runs, some failed and some succeeded (`worst` only).
        case partial
        /// Runs, none that counts as a success.
        case failure
        /// No run, while Vectis's missed-backup condition held for the agent.
        case missed
        /// No run, while its appliance was offline.
        case offline
        /// No run, and the agent was paused or archived in Datto: nothing was expected.
        case paused
        /// No run and nothing known to be wrong: no result (before the agent was known, or not its night).
        case none
    }

    /// `YYYY-MM-DD`: the date the night starts on, in the tenant's time zone.
    public var night: String
    public var status: Status
    public var successes: Int
    public var failures: Int
    public var lastRunAt: Date?
    /// The night's latest failure message, when a run failed.
    public var lastError: String?

    public init(night: String, status: Status, successes: Int = 0, failures: Int = 0, lastRunAt: Date? = nil, lastError: String? = nil) {
        self.night = night
        self.status = status
        self.successes = successes
        self.failures = failures
        self.lastRunAt = lastRunAt
        self.lastError = lastError
    }
}

/// The share of nights with a successful backup among the nights a backup was expected (paused and archived
/// nights, and nights with no result, are not expected), over the `nights` completed nights before tonight.
public struct SuccessRate: Codable, Sendable, Equatable {
    public var nights: Int
    public var expected: Int
    public var succeeded: Int
    /// `succeeded / expected`, 0–1 with four decimals; absent when no night was expected.
    public var rate: Double?

    public init(nights: Int, expected: Int, succeeded: Int) {
        self.nights = nights
        self.expected = expected
        self.succeeded = succeeded
        rate = expected > 0 ? (Double(succeeded) / Double(expected) * 10_000).rounded() / 10_000 : nil
    }
}

/// `GET /v1/customers/{id}/grid`: one row per agent, one cell per night, oldest night first.
public struct CustomerGrid: Codable, Sendable {
    public struct Agent: Codable, Sendable {
        public var agentId: String
        public var name: String
        public var kind: DattoAgentSeen.Kind
        public var deviceSerial: String
        public var isPaused: Bool
        public var isArchived: Bool
        public var cells: [NightCell]
        /// Over 7, 30 and 90 nights.
        public var rates: [SuccessRate]

        public init(
            agentId: String, name: String, kind: DattoAgentSeen.Kind, deviceSerial: String, isPaused: Bool, isArchived: Bool,
            cells: [NightCell], rates: [SuccessRate]
        ) {
            self.agentId = agentId
            self.name = name
            self.kind = kind
            self.deviceSerial = deviceSerial
            self.isPaused = isPaused
            self.isArchived = isArchived
            self.cells = cells
            self.rates = rates
        }
    }

    /// Where the roll-up mode came from.
    public enum RollUpSource: String, Codable, Sendable, CaseIterable {
        case request, customer, tenant, standard
    }

    public var customer: CustomerBackups.Customer
    public var rollUp: RollUp
    public var rollUpSource: RollUpSource
    /// The nights shown, oldest first; the last is tonight (still under way).
    public var nights: [String]
    public var timeZone: String
    /// The local hour at which one night ends and the next begins.
    public var boundaryHour: Int
    /// The customer's rates over 7, 30 and 90 nights.
    public var rates: [SuccessRate]
    /// The customer's rate over the completed nights shown (a month's, for a report).
    public var shownRate: SuccessRate
    public var agents: [Agent]

    public init(
        customer: CustomerBackups.Customer, rollUp: RollUp, rollUpSource: RollUpSource, nights: [String], timeZone: String,
        boundaryHour: Int, rates: [SuccessRate], shownRate: SuccessRate, agents: [Agent]
    ) {
        self.customer = customer
        self.rollUp = rollUp
        self.rollUpSource = rollUpSource
        self.nights = nights
        self.timeZone = timeZone
        self.boundaryHour = boundaryHour
        self.rates = rates
        self.shownRate = shownRate
        self.agents = agents
    }
}

/// `PUT /v1/customers/{id}/grid-settings`: the customer's roll-up mode (absent: the tenant's).
public struct GridSettings: Codable, Sendable, Equatable {
    public var rollUp: RollUp?

    public init(rollUp: RollUp?) {
        self.rollUp = rollUp
    }
}

/// A customer's (or tenant's) rate, as the customers list and the dashboard show it.
public struct CustomerRate: Codable, Sendable, Equatable {
    public var customerId: String
    public var tenant: String
    public var name: String
    public var rate: SuccessRate

    public init(customerId: String, tenant: String, name: String, rate: SuccessRate) {
        self.customerId = customerId
        self.tenant = tenant
        self.name = name
        self.rate = rate
    }
}

public struct TenantRate: Codable, Sendable, Equatable {
    public var tenant: String
    public var rate: SuccessRate

    public init(tenant: String, rate: SuccessRate) {
        self.tenant = tenant
        self.rate = rate
    }
}

/// `GET /v1/success-rates?nights=30`: every customer worst first (no expected night last), each tenant, the fleet.
public struct SuccessRates: Codable, Sendable {
    public var nights: Int
    public var fleet: SuccessRate
    public var tenants: [TenantRate]
    public var customers: [CustomerRate]

    public init(nights: Int, fleet: SuccessRate, tenants: [TenantRate], customers: [CustomerRate]) {
        self.nights = nights
        self.fleet = fleet
        self.tenants = tenants
        self.customers = customers
    }
}

/// `GET /v1/fleet`: the dashboard's figures from the backups service.
public struct FleetOverview: Codable, Sendable {
    /// Agents and appliances in each state now.
    public struct Counts: Codable, Sendable, Equatable {
        /// Agents watched (not paused, archived or removed).
        public var agents: Int
        /// Agents whose latest run failed.
        public var failing: Int
        /// Agents with a missed-backup condition.
        public var missed: Int
        /// Appliances offline.
        public var offline: Int
        /// Agents whose screenshot verification is failing.
        public var screenshot: Int
        /// Appliances whose local storage is filling up.
        public var storage: Int

        public init(agents: Int, failing: Int, missed: Int, offline: Int, screenshot: Int, storage: Int) {
            (self.agents, self.failing, self.missed, self.offline, self.screenshot, self.storage) =
                (agents, failing, missed, offline, screenshot, storage)
        }
    }

    /// One night of the fleet: every agent's night rolled into one rate.
    public struct Night: Codable, Sendable, Equatable {
        public var night: String
        public var expected: Int
        public var succeeded: Int
        public var rate: Double?

        public init(night: String, expected: Int, succeeded: Int) {
            self.night = night
            self.expected = expected
            self.succeeded = succeeded
            rate = SuccessRate(nights: 1, expected: expected, succeeded: succeeded).rate
        }
    }

    public var counts: Counts
    /// Over the completed nights asked for (`nights`, default 30).
    public var rate: SuccessRate
    /// The ten customers with the lowest rate over those nights (those with no expected night left out).
    public var worstCustomers: [CustomerRate]
    /// One entry per completed night, oldest first.
    public var nightly: [Night]

    public init(counts: Counts, rate: SuccessRate, worstCustomers: [CustomerRate], nightly: [Night]) {
        self.counts = counts
        self.rate = rate
        self.worstCustomers = worstCustomers
        self.nightly = nightly
    }
}
