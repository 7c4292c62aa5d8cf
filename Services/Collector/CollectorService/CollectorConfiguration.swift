import Foundation
import VectisRuntime

/// Everything `vectis-collector` reads from the environment (the README's table lists each variable).
public struct CollectorConfiguration: Sendable {
    public var runtime: RuntimeConfiguration
    public var regions: DattoRegions
    public var pollInterval: Duration
    /// Datto's budget per API key: at most this many requests in any `rateWindow`.
    public var requestsPerWindow: Int
    public var rateWindow: Duration
    /// Devices whose assets are read at the same time.
    public var concurrency: Int
    public var requestTimeout: Duration
    public var retry: DattoRetryPolicy
    /// Bearer token the admin endpoints require.
    public var adminToken: String
    /// Accepted besides the admin token on reads of customer data (screenshots).
    public var readToken: String = AdminToken.unguessable
    /// File holding the AES key that seals secrets at rest.
    public var secretKeyFile: String
    /// The MSP's retry hook (e.g. an RMM job's webhook), POSTed for each retry; none by default.
    public var retryHookURL: URL?
    /// Signs each retry hook call (`X-Vectis-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>">`), so the
    /// RMM can check it came from here; nil sends no signature.
    public var retryHookSecret: String?
    /// Where the retry hook may be (`VECTIS_ALLOW_PRIVATE_UPSTREAMS` for one on loopback or a private network).
    public var upstreams = UpstreamPolicy()
    /// At most one retry per agent in this long, whatever asks.
    public var retryMinInterval: Duration = .seconds(30 * 60)
    /// Largest Datto response body accepted; a bigger one is cut off and reported, never buffered whole.
    public var maxResponseBytes: Int
    /// Requests one scheduled poll may spend; when the fleet needs more, the planner reads devices due first
    /// (docs/collector.md). Nil: 90% of what the budget allows in one poll interval. Initial and manual syncs
    /// read every device.
    public var requestsPerPoll: Int?
    /// How such a poll picks devices (`VECTIS_DATTO_POLL_STRATEGY`: due-first, or round-robin to compare).
    public var pollStrategy: PollPlanner.Strategy = .dueFirst
    /// How often the poller looks whether an integration is due (a benchmark on a fast clock looks more often).
    public var pollTick: Duration = .seconds(1)
    /// Datto's time now; tests and `vectis-bench sync` run a sandbox whose clock is faster than the wall's.
    public var clock: @Sendable () -> Date = { Date() }
    /// Follow the Datto sandbox's clock instead (`VECTIS_CLOCK_URL`, local runs only; see `SandboxClock`).
    public var sandboxClockURL: URL?

    /// What a scheduled poll may spend.
    public var pollBudget: Int {
        requestsPerPoll
            ?? max(1, Int(Double(requestsPerWindow) * DattoClient.seconds(pollInterval) / DattoClient.seconds(rateWindow) * 0.9))
    }

    public init(
        runtime: RuntimeConfiguration, regions: DattoRegions = DattoRegions(), pollInterval: Duration = .seconds(300),
        requestsPerWindow: Int = 100, rateWindow: Duration = .seconds(60), concurrency: Int = 4,
        requestTimeout: Duration = .seconds(30), retry: DattoRetryPolicy = DattoRetryPolicy(), adminToken: String,
        secretKeyFile: String, retryHookURL: URL? = nil, maxResponseBytes: Int = 64 << 20
    ) {
        self.retryHookURL = retryHookURL
        self.maxResponseBytes = maxResponseBytes
        self.runtime = runtime
        self.regions = regions
        self.pollInterval = pollInterval
        self.requestsPerWindow = requestsPerWindow
        self.rateWindow = rateWindow
        self.concurrency = concurrency
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.adminToken = adminToken
        self.secretKeyFile = secretKeyFile
    }

    public init(environment env: Environment) throws {
        var runtime = try RuntimeConfiguration(service: "collector", defaultHTTPPort: 8081, environment: env)
        runtime.delivery.resynchronisation = "the collector's next full poll re-announces every device and agent"
        var retry = DattoRetryPolicy()
        retry.backoffBase = .milliseconds(try env.int("VECTIS_DATTO_BACKOFF_MS", default: 5_000))
        self.init(
            runtime: runtime,
            regions: DattoRegions.fromEnvironment(env.values),
            pollInterval: .seconds(try env.int("VECTIS_DATTO_POLL_INTERVAL_SECONDS", default: 300)),
            requestsPerWindow: try env.int("VECTIS_DATTO_REQUESTS_PER_MINUTE", default: 100),
            rateWindow: .seconds(try env.int("VECTIS_DATTO_RATE_WINDOW_SECONDS", default: 60)),
            concurrency: try env.int("VECTIS_DATTO_CONCURRENCY", default: 4),
            requestTimeout: .seconds(try env.int("VECTIS_DATTO_TIMEOUT_SECONDS", default: 30)),
            retry: retry,
            adminToken: try AdminToken.resolve(env, dataDirectory: runtime.dataDirectory),
            secretKeyFile: env.string("VECTIS_SECRET_KEY_FILE", default: "\(runtime.dataDirectory)/secret.key"),
            retryHookURL: env["VECTIS_RETRY_HOOK_URL"].flatMap(URL.init(string:)),
            maxResponseBytes: try env.int("VECTIS_DATTO_MAX_RESPONSE_MB", default: 64) << 20)
        if let file = env["VECTIS_RETRY_HOOK_SECRET_FILE"] {
            guard let secret = (try? String(contentsOfFile: file, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines),
                secret.utf8.count >= 16
            else {
                throw ConfigurationError(
                    variable: "VECTIS_RETRY_HOOK_SECRET_FILE", value: file,
                    expected: "a readable file with a secret of 16 or more characters")
            }
            retryHookSecret = secret
        }
        retryMinInterval = .seconds(try env.int("VECTIS_RETRY_MIN_INTERVAL_MINUTES", default: 30) * 60)
        readToken = try ReadToken.resolve(env, dataDirectory: runtime.dataDirectory)
        upstreams = try UpstreamPolicy(environment: env)
        if let text = env["VECTIS_RETRY_HOOK_URL"],
            !["http", "https"].contains(retryHookURL?.scheme?.lowercased() ?? "") || retryHookURL?.host == nil
        {
            throw ConfigurationError(variable: "VECTIS_RETRY_HOOK_URL", value: text, expected: "an http(s) URL")
        }
        if let value = env["VECTIS_DATTO_REQUESTS_PER_POLL"] {
            guard let budget = Int(value), budget > 0 else {
                throw ConfigurationError(variable: "VECTIS_DATTO_REQUESTS_PER_POLL", value: value, expected: "a whole number above 0")
            }
            requestsPerPoll = budget
        }
        if let value = env["VECTIS_DATTO_POLL_STRATEGY"] {
            guard let strategy = PollPlanner.Strategy(rawValue: value) else {
                throw ConfigurationError(variable: "VECTIS_DATTO_POLL_STRATEGY", value: value, expected: "due-first or round-robin")
            }
            pollStrategy = strategy
        }
        sandboxClockURL = try SandboxClock.url(from: env)
    }
}
