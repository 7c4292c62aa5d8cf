import Foundation
import VectisRuntime

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
    /// How often open tickets are read back from their PSA (`VECTIS_TICKET_CHECK_INTERVAL_SECONDS`, default 15 minutes).
    public var ticketCheckInterval: Duration = .seconds(900)
    /// The most of each PSA account's request budget the read-back spends (`VECTIS_TICKET_CHECK_BUDGET_SHARE`, 0–0.5,
    /// default 0.2; 0 turns the schedule off — tickets are still read before each note or close).
    public var ticketCheckShare: Double = 0.2
    /// The console's address as people open it (`VECTIS_CONSOLE_URL`), for the links in notifications (`none`: no link).
    public var consoleURL: String = "http://127.0.0.1:8090"
    /// PEM certificates trusted besides the system's for SMTP over TLS (`VECTIS_TLS_CA_FILE`): an internal relay's CA.
    public var extraTrustRoots: String?
    /// What the notification worker takes for now (digest times, retries, rate windows); tests move it on.
    public var clock: @Sendable () -> Date = { Date() }

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
            defaultDryRun: .seconds(try Self.dryRunHours(env) * 3_600),
            psaTimeout: .seconds(try Self.psaTimeoutSeconds(env)), upstreams: try UpstreamPolicy(environment: env))
        readToken = try ReadToken.resolve(env, dataDirectory: runtime.dataDirectory)
        ticketCheckInterval = .seconds(try Self.ticketCheckSeconds(env))
        ticketCheckShare = try Self.ticketCheckShare(env)
        consoleURL = try Self.consoleURL(env)
        extraTrustRoots = env["VECTIS_TLS_CA_FILE"]
    }

    /// `VECTIS_CONSOLE_URL`: an http(s) address, or `none` for no links.
    static func consoleURL(_ env: VectisRuntime.Environment) throws -> String {
        let text = env.string("VECTIS_CONSOLE_URL", default: "http://127.0.0.1:8090")
        if text == "none" { return "" }
        guard UpstreamPolicy.baseAddressProblem(text) == nil else {
            throw ConfigurationError(variable: "VECTIS_CONSOLE_URL", value: text, expected: "the console's http(s) address")
        }
        return text
    }

    /// `VECTIS_TICKET_CHECK_INTERVAL_SECONDS`: 1 to 86400.
    static func ticketCheckSeconds(_ env: VectisRuntime.Environment) throws -> Int {
        let seconds = try env.int("VECTIS_TICKET_CHECK_INTERVAL_SECONDS", default: 900)
        guard (1...86_400).contains(seconds) else {
            throw ConfigurationError(
                variable: "VECTIS_TICKET_CHECK_INTERVAL_SECONDS", value: String(seconds), expected: "seconds from 1 to 86400")
        }
        return seconds
    }

    /// `VECTIS_TICKET_CHECK_BUDGET_SHARE`: 0 to 0.5 of each PSA account's request budget.
    static func ticketCheckShare(_ env: VectisRuntime.Environment) throws -> Double {
        let share = try env.double("VECTIS_TICKET_CHECK_BUDGET_SHARE", default: 0.2)
        guard share.isFinite, (0...0.5).contains(share) else {
            throw ConfigurationError(variable: "VECTIS_TICKET_CHECK_BUDGET_SHARE", value: String(share), expected: "a share from 0 to 0.5")
        }
        return share
    }

    /// `VECTIS_RULES_DRY_RUN_HOURS`: 0 to 8760 (a year), checked before it is turned into a duration.
    static func dryRunHours(_ env: VectisRuntime.Environment) throws -> Double {
        let hours = try env.double("VECTIS_RULES_DRY_RUN_HOURS", default: 24)
        guard hours.isFinite, (0...8_760).contains(hours) else {
            throw ConfigurationError(variable: "VECTIS_RULES_DRY_RUN_HOURS", value: String(hours), expected: "hours from 0 to 8760")
        }
        return hours
    }

    /// `VECTIS_PSA_TIMEOUT_SECONDS`: 1 to 300.
    static func psaTimeoutSeconds(_ env: VectisRuntime.Environment) throws -> Int {
        let seconds = try env.int("VECTIS_PSA_TIMEOUT_SECONDS", default: 20)
        guard (1...300).contains(seconds) else {
            throw ConfigurationError(variable: "VECTIS_PSA_TIMEOUT_SECONDS", value: String(seconds), expected: "seconds from 1 to 300")
        }
        return seconds
    }
}
