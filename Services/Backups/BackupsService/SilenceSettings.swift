import Foundation
import VectisRuntime

/// How long each kind of silence may last before it is a problem. Zero turns a check off (e.g. offsite for
/// appliances on a local-only plan).
public struct SilenceWindows: Sendable, Equatable, Codable {
    /// No successful backup of an agent for this long (default 26 h: a nightly backup plus slack).
    public var missedBackupHours: Double
    /// An appliance's last check-in older than this (default 1 h).
    public var deviceOfflineHours: Double
    /// An agent's latest offsite point older than this while newer local backups wait to go (default 48 h).
    public var offsiteStaleHours: Double
    /// A new agent's first backup is expected within this long of Vectis learning of it (default 48 h: a first
    /// full backup can take a day).
    public var newAgentGraceHours: Double
    /// No successful screenshot verification of an agent that has them for this long (default 168 h, 7 days; 0 off).
    /// A failed latest verification is a problem whatever this says.
    public var screenshotMaxAgeHours: Double
    /// An appliance's local storage this full raises `appliance-storage` (default 85%; 0 off)…
    public var storageWarnPercent: Double
    /// …and this full makes it high (default 95%).
    public var storageHighPercent: Double

    public init(
        missedBackupHours: Double = 26, deviceOfflineHours: Double = 1, offsiteStaleHours: Double = 48, newAgentGraceHours: Double = 48,
        screenshotMaxAgeHours: Double = 168, storageWarnPercent: Double = 85, storageHighPercent: Double = 95
    ) {
        self.missedBackupHours = missedBackupHours
        self.deviceOfflineHours = deviceOfflineHours
        self.offsiteStaleHours = offsiteStaleHours
        self.newAgentGraceHours = newAgentGraceHours
        self.screenshotMaxAgeHours = screenshotMaxAgeHours
        self.storageWarnPercent = storageWarnPercent
        self.storageHighPercent = storageHighPercent
    }

    /// Some windows changed; the others inherited.
    public struct Override: Sendable, Equatable, Codable {
        public var missedBackupHours: Double?
        public var deviceOfflineHours: Double?
        public var offsiteStaleHours: Double?
        public var newAgentGraceHours: Double?
        public var screenshotMaxAgeHours: Double?
        public var storageWarnPercent: Double?
        public var storageHighPercent: Double?

        public init(
            missedBackupHours: Double? = nil, deviceOfflineHours: Double? = nil, offsiteStaleHours: Double? = nil,
            newAgentGraceHours: Double? = nil, screenshotMaxAgeHours: Double? = nil, storageWarnPercent: Double? = nil,
            storageHighPercent: Double? = nil
        ) {
            self.missedBackupHours = missedBackupHours
            self.deviceOfflineHours = deviceOfflineHours
            self.offsiteStaleHours = offsiteStaleHours
            self.newAgentGraceHours = newAgentGraceHours
            self.screenshotMaxAgeHours = screenshotMaxAgeHours
            self.storageWarnPercent = storageWarnPercent
            self.storageHighPercent = storageHighPercent
        }

        var values: [Double?] { [missedBackupHours, deviceOfflineHours, offsiteStaleHours, newAgentGraceHours, screenshotMaxAgeHours] }
        var percents: [Double?] { [storageWarnPercent, storageHighPercent] }
    }

    func applying(_ override: Override?) -> SilenceWindows {
        guard let override else { return self }
        return SilenceWindows(
            missedBackupHours: override.missedBackupHours ?? missedBackupHours,
            deviceOfflineHours: override.deviceOfflineHours ?? deviceOfflineHours,
            offsiteStaleHours: override.offsiteStaleHours ?? offsiteStaleHours,
            newAgentGraceHours: override.newAgentGraceHours ?? newAgentGraceHours,
            screenshotMaxAgeHours: override.screenshotMaxAgeHours ?? screenshotMaxAgeHours,
            storageWarnPercent: override.storageWarnPercent ?? storageWarnPercent,
            storageHighPercent: override.storageHighPercent ?? storageHighPercent)
    }
}

/// The silence check's settings: windows with per-tenant and per-customer overrides (customer wins), and how
/// often it runs.
public struct SilenceSettings: Sendable {
    public var standard: SilenceWindows
    public var tenants: [String: SilenceWindows.Override]
    /// By customer id (`c_…`, as the hub and assets APIs show it).
    public var customers: [String: SilenceWindows.Override]
    public var checkInterval: Duration

    public init(
        standard: SilenceWindows = SilenceWindows(), tenants: [String: SilenceWindows.Override] = [:],
        customers: [String: SilenceWindows.Override] = [:], checkInterval: Duration = .seconds(60)
    ) {
        self.standard = standard
        self.tenants = tenants
        self.customers = customers
        self.checkInterval = checkInterval
    }

    public func windows(tenant: String, customerId: String) -> SilenceWindows {
        standard.applying(tenants[tenant]).applying(customers[customerId])
    }

    /// Reads `VECTIS_MISSED_BACKUP_HOURS`, `VECTIS_DEVICE_OFFLINE_HOURS`, `VECTIS_OFFSITE_STALE_HOURS`,
    /// `VECTIS_NEW_AGENT_GRACE_HOURS`, `VECTIS_SCREENSHOT_MAX_AGE_HOURS`, `VECTIS_STORAGE_WARN_PERCENT`,
    /// `VECTIS_STORAGE_HIGH_PERCENT`, `VECTIS_SILENCE_OVERRIDES`, `VECTIS_SILENCE_CHECK_SECONDS`.
    public init(environment env: Environment) throws {
        func hours(_ name: String, _ fallback: Double) throws -> Double {
            let value = try env.double(name, default: fallback)
            guard value.isFinite, (0...8_760).contains(value) else {
                throw ConfigurationError(variable: name, value: String(value), expected: "hours from 0 (check off) to 8760")
            }
            return value
        }
        func percent(_ name: String, _ fallback: Double) throws -> Double {
            let value = try env.double(name, default: fallback)
            guard value.isFinite, (0...100).contains(value) else {
                throw ConfigurationError(variable: name, value: String(value), expected: "a percentage from 0 (check off) to 100")
            }
            return value
        }
        let standard = SilenceWindows(
            missedBackupHours: try hours("VECTIS_MISSED_BACKUP_HOURS", 26), deviceOfflineHours: try hours("VECTIS_DEVICE_OFFLINE_HOURS", 1),
            offsiteStaleHours: try hours("VECTIS_OFFSITE_STALE_HOURS", 48),
            newAgentGraceHours: try hours("VECTIS_NEW_AGENT_GRACE_HOURS", 48),
            screenshotMaxAgeHours: try hours("VECTIS_SCREENSHOT_MAX_AGE_HOURS", 168),
            storageWarnPercent: try percent("VECTIS_STORAGE_WARN_PERCENT", 85),
            storageHighPercent: try percent("VECTIS_STORAGE_HIGH_PERCENT", 95))
        var tenants: [String: SilenceWindows.Override] = [:]
        var customers: [String: SilenceWindows.Override] = [:]
        if let text = env["VECTIS_SILENCE_OVERRIDES"] {
            struct Overrides: Decodable {
                var tenants: [String: SilenceWindows.Override]?
                var customers: [String: SilenceWindows.Override]?
            }
            let expected =
                #"JSON like {"tenants": {"msp-b": {"missedBackupHours": 30}}, "customers": {"c_…": {"missedBackupHours": 72, "offsiteStaleHours": 0, "storageWarnPercent": 90}}} with hours from 0 to 8760 and percentages from 0 to 100"#
            guard let overrides = try? JSONDecoder().decode(Overrides.self, from: Data(text.utf8)) else {
                throw ConfigurationError(variable: "VECTIS_SILENCE_OVERRIDES", value: text, expected: expected)
            }
            tenants = overrides.tenants ?? [:]
            customers = overrides.customers ?? [:]
            let all = (Array(tenants.values) + Array(customers.values)).flatMap(\.values).compactMap { $0 }
            let percents = (Array(tenants.values) + Array(customers.values)).flatMap(\.percents).compactMap { $0 }
            guard all.allSatisfy({ $0.isFinite && (0...8_760).contains($0) }),
                percents.allSatisfy({ $0.isFinite && (0...100).contains($0) })
            else {
                throw ConfigurationError(variable: "VECTIS_SILENCE_OVERRIDES", value: text, expected: expected)
            }
        }
        let interval = try env.double("VECTIS_SILENCE_CHECK_SECONDS", default: 60)
        guard interval.isFinite, (0.05...3_600).contains(interval) else {
            throw ConfigurationError(
                variable: "VECTIS_SILENCE_CHECK_SECONDS", value: String(interval), expected: "seconds from 0.05 to 3600")
        }
        self.init(standard: standard, tenants: tenants, customers: customers, checkInterval: .milliseconds(Int(interval * 1_000)))
    }
}
