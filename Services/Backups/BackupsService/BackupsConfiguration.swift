import Foundation
import VectisAPI
import VectisRuntime

/// What `vectis-backups` reads from the environment.
public struct BackupsConfiguration: Sendable {
    public var runtime: RuntimeConfiguration
    public var nights: NightSettings
    /// Rows older than this are deleted (default 400 days).
    public var retentionDays: Int
    /// Missed backups, offline appliances, stale offsite copies: windows and how often they are checked.
    public var silence: SilenceSettings
    /// "Now" for the silence check and the hub's "for 31 h" (tests set Datto's sandbox clock).
    public var clock: @Sendable () -> Date
    /// Follow the Datto sandbox's clock instead (`VECTIS_CLOCK_URL`, local runs only; see `SandboxClock`).
    public var sandboxClockURL: URL?

    public init(
        runtime: RuntimeConfiguration, nights: NightSettings = NightSettings(), retentionDays: Int = 400,
        silence: SilenceSettings = SilenceSettings(), clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.runtime = runtime
        self.nights = nights
        self.retentionDays = retentionDays
        self.silence = silence
        self.clock = clock
    }

    /// The tokens: reads of the hub need the read-only or the admin token, `/v1/dead-letters` the admin token
    /// (nobody's when not configured).
    public var access = AccessTokens()

    public init(environment env: Environment) throws {
        let runtime = try RuntimeConfiguration(service: "backups", defaultHTTPPort: 8083, environment: env)
        let access = try AccessTokens(environment: env, dataDirectory: runtime.dataDirectory)
        let zoneName = env.string("VECTIS_NIGHT_TIMEZONE", default: "UTC")
        guard let zone = TimeZone(identifier: zoneName) else {
            throw ConfigurationError(
                variable: "VECTIS_NIGHT_TIMEZONE", value: zoneName, expected: "an IANA time zone such as Europe/Berlin")
        }
        let hour = try env.int("VECTIS_NIGHT_BOUNDARY_HOUR", default: 12)
        guard (0...23).contains(hour) else {
            throw ConfigurationError(variable: "VECTIS_NIGHT_BOUNDARY_HOUR", value: String(hour), expected: "an hour from 0 to 23")
        }
        let rollUpName = env.string("VECTIS_GRID_ROLLUP", default: RollUp.worst.rawValue)
        guard let rollUp = RollUp(rawValue: rollUpName) else {
            throw ConfigurationError(variable: "VECTIS_GRID_ROLLUP", value: rollUpName, expected: "worst, last or best")
        }
        var nights = NightSettings(standard: NightCalendar(timeZone: zone, boundaryHour: hour), rollUp: rollUp)
        if let text = env["VECTIS_TENANT_NIGHTS"] {
            struct Entry: Decodable {
                var timeZone: String?
                var boundaryHour: Int?
                var rollUp: RollUp?
            }
            guard let entries = try? JSONDecoder().decode([String: Entry].self, from: Data(text.utf8)) else {
                throw ConfigurationError(
                    variable: "VECTIS_TENANT_NIGHTS", value: text,
                    expected: #"JSON like {"msp-b": {"timeZone": "Europe/Berlin", "boundaryHour": 12, "rollUp": "worst"}}"#)
            }
            for (tenant, entry) in entries {
                guard let zone = TimeZone(identifier: entry.timeZone ?? zoneName), (0...23).contains(entry.boundaryHour ?? hour) else {
                    throw ConfigurationError(variable: "VECTIS_TENANT_NIGHTS", value: text, expected: "valid zones and hours")
                }
                nights.tenants[tenant] = NightCalendar(timeZone: zone, boundaryHour: entry.boundaryHour ?? hour)
                if let rollUp = entry.rollUp { nights.tenantRollUps[tenant] = rollUp }
            }
        }
        self.init(
            runtime: runtime, nights: nights, retentionDays: try env.int("VECTIS_BACKUP_RETENTION_DAYS", default: 400),
            silence: try SilenceSettings(environment: env))
        sandboxClockURL = try SandboxClock.url(from: env)
        self.access = access
    }
}
