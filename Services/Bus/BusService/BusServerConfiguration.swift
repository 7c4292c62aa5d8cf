import VectisRuntime

/// Where `vectis-bus` binds and how it treats traffic.
public struct BusServerConfiguration: Sendable {
    /// XSUB: services connect their PUB sockets here.
    public var publishBind: String
    /// XPUB: services connect their SUB sockets here.
    public var subscribeBind: String
    /// PUB capture: a copy of every frame for `vectis tap`. A PUB never blocks, so a missing tap cannot stall the bus.
    public var tapBind: String
    public var httpHost: String
    public var httpPort: Int
    /// A publisher sending a frame larger than this is disconnected by libzmq (protects every subscriber).
    public var maxFrameBytes: Int64
    /// Per-connection queue length on the proxy sockets; beyond it libzmq drops (seq numbers reveal the loss).
    public var highWaterMark: Int32
    /// How often the proxy's STATISTICS counters are read into metrics.
    public var statisticsIntervalMilliseconds: Int
    /// With a secret key, the bus's three ports speak CURVE and admit only `allowedClientKeys` (ZAP).
    public var curveSecretKey: String?
    public var allowedClientKeys: Set<String>

    public init(
        publishBind: String = "tcp://*:5550", subscribeBind: String = "tcp://*:5551", tapBind: String = "tcp://*:5552",
        httpHost: String = "127.0.0.1", httpPort: Int = 8080, maxFrameBytes: Int64 = 16 << 20,
        highWaterMark: Int32 = 100_000, statisticsIntervalMilliseconds: Int = 1_000, curveSecretKey: String? = nil,
        allowedClientKeys: Set<String> = []
    ) {
        self.curveSecretKey = curveSecretKey
        self.allowedClientKeys = allowedClientKeys
        self.publishBind = publishBind
        self.subscribeBind = subscribeBind
        self.tapBind = tapBind
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.maxFrameBytes = maxFrameBytes
        self.highWaterMark = highWaterMark
        self.statisticsIntervalMilliseconds = statisticsIntervalMilliseconds
    }

    /// Non-empty lines of a key file, `#` comments dropped (a key file may be `public` or `secret` on its line).
    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(whereSeparator: \.isNewline)
            .map { $0.split(separator: "#").first.map(String.init) ?? "" }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public init(environment env: Environment) throws {
        let defaults = BusServerConfiguration()
        self.init(
            publishBind: env.string("VECTIS_BUS_PUBLISH_BIND", default: defaults.publishBind),
            subscribeBind: env.string("VECTIS_BUS_SUBSCRIBE_BIND", default: defaults.subscribeBind),
            tapBind: env.string("VECTIS_BUS_TAP_BIND", default: defaults.tapBind),
            httpHost: env.string("VECTIS_HTTP_HOST", default: defaults.httpHost),
            httpPort: try env.int("VECTIS_HTTP_PORT", default: defaults.httpPort),
            maxFrameBytes: Int64(try env.int("VECTIS_BUS_MAX_FRAME_BYTES", default: Int(defaults.maxFrameBytes))),
            highWaterMark: Int32(try env.int("VECTIS_BUS_HWM", default: Int(defaults.highWaterMark))),
            statisticsIntervalMilliseconds: try env.int(
                "VECTIS_BUS_STATISTICS_INTERVAL_MS", default: defaults.statisticsIntervalMilliseconds))
        if let file = env["VECTIS_BUS_CURVE_SECRET_KEY_FILE"] {
            guard let key = Self.lines(file).first(where: { $0.count == 40 }) else {
                throw ConfigurationError(variable: "VECTIS_BUS_CURVE_SECRET_KEY_FILE", value: file, expected: "a file with a 40-character Z85 secret key")
            }
            curveSecretKey = key
            guard let allowed = env["VECTIS_BUS_ALLOWED_KEYS_FILE"] else {
                throw ConfigurationError(variable: "VECTIS_BUS_ALLOWED_KEYS_FILE", value: "(unset)", expected: "set when CURVE is on: the services' public keys")
            }
            allowedClientKeys = Set(Self.lines(allowed).filter { $0.count == 40 })
        }
    }
}
