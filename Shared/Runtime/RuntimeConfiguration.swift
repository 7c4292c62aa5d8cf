import Foundation
import Logging
import VectisBus
import VectisContracts
import VectisDelivery
import ZeroMQ

/// What every service reads from the environment (the README's configuration table lists each variable).
public struct RuntimeConfiguration: Sendable {
    /// Service name, e.g. `collector`; used in the bus stream name and in logs.
    public var service: String
    /// This replica's name; with `service` it forms the stream `<service>/<instance>`.
    public var instance: String
    public var httpHost: String
    public var httpPort: Int
    public var bus: BusConfiguration
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var delivery: DeliveryConfiguration
    /// Where the service keeps its SQLite database (`<dataDirectory>/<service>.sqlite`).
    public var dataDirectory: String
    /// Timeouts, the connection cap and the host names of the HTTP server (`VECTIS_HTTP_*`).
    public var http = HTTPLimits()
    /// This replica's share of the tenants, `(index, count)` from `VECTIS_SHARD=i/n`; nil takes every tenant.
    public var shard: ShardAssignment?

    public var databasePath: String { "\(dataDirectory)/\(service).sqlite" }

    public var stream: String { "\(service)/\(instance)" }

    public init(
        service: String, instance: String = RuntimeConfiguration.defaultInstance, httpHost: String = "127.0.0.1",
        httpPort: Int, bus: BusConfiguration = BusConfiguration(), logLevel: Logger.Level = .info,
        logFormat: LogFormat = .human, delivery: DeliveryConfiguration = DeliveryConfiguration(),
        dataDirectory: String = ".vectis/data"
    ) {
        self.service = service
        self.instance = instance
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.bus = bus
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.delivery = delivery
        self.dataDirectory = dataDirectory
    }

    /// Reads `VECTIS_*` variables over the defaults for `service`.
    /// `usesBus: false` for a part that never connects to the bus (the console): it needs no bus keys.
    public init(
        service: String, defaultHTTPPort: Int, environment env: Environment = Environment(), usesBus: Bool = true
    ) throws {
        var bus = BusConfiguration()
        bus.publishEndpoint = env.string("VECTIS_BUS_PUBLISH", default: bus.publishEndpoint)
        bus.subscribeEndpoint = env.string("VECTIS_BUS_SUBSCRIBE", default: bus.subscribeEndpoint)
        bus.tapEndpoint = env.string("VECTIS_BUS_TAP", default: bus.tapEndpoint)
        bus.maxMessageBytes = try env.int("VECTIS_BUS_MAX_MESSAGE_BYTES", default: bus.maxMessageBytes)
        bus.sendHighWaterMark = Int32(try env.int("VECTIS_BUS_SNDHWM", default: Int(bus.sendHighWaterMark)))
        bus.receiveHighWaterMark = Int32(try env.int("VECTIS_BUS_RCVHWM", default: Int(bus.receiveHighWaterMark)))
        bus.curve = usesBus ? try Self.curveKeys(env, identity: service) : nil
        let levelText = env.string("VECTIS_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ConfigurationError(
                variable: "VECTIS_LOG_LEVEL", value: levelText, expected: "trace, debug, info, notice, warning or error")
        }
        let formatText = env.string("VECTIS_LOG_FORMAT", default: "human")
        guard let format = LogFormat(rawValue: formatText) else {
            throw ConfigurationError(variable: "VECTIS_LOG_FORMAT", value: formatText, expected: "human or json")
        }
        var delivery = DeliveryConfiguration()
        delivery.heartbeatInterval = .milliseconds(
            try env.int("VECTIS_HEARTBEAT_INTERVAL_MS", default: Int(delivery.heartbeatInterval.components.seconds) * 1000))
        delivery.outboxMaxAge = .seconds(
            try env.int("VECTIS_OUTBOX_MAX_AGE_HOURS", default: Int(delivery.outboxMaxAge.components.seconds) / 3600) * 3600)
        delivery.outboxMaxRows = try env.int("VECTIS_OUTBOX_MAX_ROWS", default: delivery.outboxMaxRows)
        delivery.outboxAlarmRows = try env.int("VECTIS_OUTBOX_ALARM_ROWS", default: delivery.outboxAlarmRows)
        delivery.outboxAlarmAge = .seconds(
            try env.int("VECTIS_OUTBOX_ALARM_SECONDS", default: Int(delivery.outboxAlarmAge.components.seconds)))
        delivery.replayRequestsPerSecond = try env.double(
            "VECTIS_REPLAY_REQUESTS_PER_SECOND", default: delivery.replayRequestsPerSecond)
        delivery.bundleEvents = try env.int("VECTIS_BUS_BUNDLE_EVENTS", default: delivery.bundleEvents)
        guard (1...BusLimits.maxBundleEvents).contains(delivery.bundleEvents) else {
            throw ConfigurationError(
                variable: "VECTIS_BUS_BUNDLE_EVENTS", value: "\(delivery.bundleEvents)",
                expected: "1 (every event alone) to \(BusLimits.maxBundleEvents)")
        }
        self.init(
            service: service,
            instance: env.string("VECTIS_INSTANCE", default: Self.defaultInstance),
            httpHost: env.string("VECTIS_HTTP_HOST", default: "127.0.0.1"),
            httpPort: try env.int("VECTIS_HTTP_PORT", default: defaultHTTPPort),
            bus: bus, logLevel: level, logFormat: format, delivery: delivery,
            dataDirectory: env.string("VECTIS_DATA_DIR", default: ".vectis/data"))
        http = try HTTPLimits(environment: env)
        if let text = env["VECTIS_SHARD"] {
            shard = try Self.shard(text, hostname: env["HOSTNAME"] ?? ProcessInfo.processInfo.hostName)
        }
    }

    /// `i/n`, or `ordinal/n` for a Kubernetes StatefulSet: the pod `backups-2` is replica 3 of n (its name's
    /// trailing number plus one), so one manifest serves every replica.
    static func shard(_ text: String, hostname: String) throws -> ShardAssignment {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let expected = "i/n with 1 ≤ i ≤ n ≤ \(Shard.buckets) (e.g. 2/3), or ordinal/n in a StatefulSet pod"
        guard parts.count == 2, let count = Int(parts[1]), (1...Shard.buckets).contains(count) else {
            throw ConfigurationError(variable: "VECTIS_SHARD", value: text, expected: expected)
        }
        let index: Int?
        if parts[0] == "ordinal" {
            index = hostname.split(separator: "-").last.flatMap { Int($0) }.flatMap { $0 < count ? $0 + 1 : nil }
        } else {
            index = Int(parts[0])
        }
        guard let index, (1...count).contains(index) else {
            throw ConfigurationError(
                variable: "VECTIS_SHARD", value: parts[0] == "ordinal" ? "\(text) (pod \(hostname))" : text, expected: expected)
        }
        return ShardAssignment(index: index, count: count)
    }

    /// CURVE keys for the bus, which is authenticated by default. In order: `VECTIS_BUS_SERVER_KEY` (the bus's
    /// public key) with `VECTIS_BUS_CLIENT_SECRET_KEY_FILE` (this client's secret key; its public key is derived);
    /// else a key folder (`VECTIS_BUS_KEY_DIR`, or `<VECTIS_DATA_DIR>/bus-keys` as `make run` writes it) holding
    /// `<identity>.secret`; else nil only with `VECTIS_BUS_INSECURE=1`, a development mode — otherwise start-up
    /// stops and says what to set.
    public static func curveKeys(_ env: Environment, identity: String) throws -> CurveClientKeys? {
        if let server = env["VECTIS_BUS_SERVER_KEY"] {
            guard let file = env["VECTIS_BUS_CLIENT_SECRET_KEY_FILE"], let secret = try? BusKeyDirectory.key(in: file),
                let publicKey = try? ZMQCurve.publicKey(fromSecret: secret)
            else {
                throw ConfigurationError(
                    variable: "VECTIS_BUS_CLIENT_SECRET_KEY_FILE", value: env["VECTIS_BUS_CLIENT_SECRET_KEY_FILE"] ?? "(unset)",
                    expected: "a file with this client's 40-character Z85 secret key (VECTIS_BUS_SERVER_KEY is set)")
            }
            return CurveClientKeys(serverPublicKey: server, publicKey: publicKey, secretKey: secret)
        }
        if try env.bool("VECTIS_BUS_INSECURE", default: false) { return nil }
        if let directory = BusKeyDirectory.resolve(env.values) {
            do {
                return try directory.clientKeys(identity: identity)
            } catch {
                throw ConfigurationError(
                    variable: "VECTIS_BUS_KEY_DIR", value: directory.path,
                    expected: "a bus key folder with bus.public and \(identity).secret (vectis keys init --dir …): \(error)")
            }
        }
        throw ConfigurationError(
            variable: "VECTIS_BUS_KEY_DIR", value: "(unset, and no <VECTIS_DATA_DIR>/bus-keys)",
            expected:
                "set: the bus is authenticated (CURVE) by default — create keys with `vectis keys init --dir DIR`, or set VECTIS_BUS_INSECURE=1 for development only"
        )
    }

    /// Whether `VECTIS_BUS_INSECURE` asks for the plain, unauthenticated bus (development only).
    public static func busInsecure(_ env: Environment) -> Bool {
        (try? env.bool("VECTIS_BUS_INSECURE", default: false)) ?? false
    }

    /// The host name, so replicas on different hosts or containers get distinct streams.
    public static var defaultInstance: String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local"
    }
}

/// Replica `index` of `count` (from 1), as `VECTIS_SHARD=index/count` says.
public struct ShardAssignment: Sendable, Equatable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }
}
