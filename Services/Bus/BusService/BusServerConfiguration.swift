import Foundation
import VectisBus
import VectisContracts
import VectisRuntime

/// Where `vectis-bus` binds and how it treats traffic. Secure by default: loopback binds, and from the
/// environment the bus refuses to start without CURVE keys unless `VECTIS_BUS_INSECURE=1` says otherwise.
public struct BusServerConfiguration: Sendable {
    /// XSUB: services connect their PUB sockets here.
    public var publishBind: String
    /// XPUB: services connect their SUB sockets here.
    public var subscribeBind: String
    /// PUB capture: a copy of every frame for `vectis tap`. A PUB never blocks, so a missing tap cannot stall the bus.
    public var tapBind: String
    public var httpHost: String
    public var httpPort: Int
    /// What every service shares (logging, HTTP limits and host check); its HTTP address is `httpHost`/`httpPort`.
    public var runtime: RuntimeConfiguration
    /// A message whose three frames add up to more than this is dropped and its sender cut off.
    public var maxMessageBytes: Int
    /// A publisher sending a single frame larger than this is disconnected by libzmq before the frame is read.
    public var maxFrameBytes: Int64
    /// Per-connection queue length on the proxy sockets, in messages (a bundle is one, at most 8 KiB); beyond it
    /// libzmq drops (seq numbers reveal the loss).
    public var highWaterMark: Int32
    /// How often the forwarder's counters are copied into metrics.
    public var statisticsIntervalMilliseconds: Int
    /// With a secret key, the bus's three ports speak CURVE and admit only `allowedClients` (ZAP), and every
    /// message is checked against `BusOwnership` for the identity its key is named with.
    public var curveSecretKey: String?
    /// Public key → identity (a service name, or `tap`).
    public var allowedClients: [String: String]
    /// Topics one identity may introduce on the subscriber side (a service needs tens; sharded ones a few hundred).
    public var maxTopicsPerIdentity: Int
    /// How long an identity that broke the frame, size or subscription limits stays shut out.
    public var banDuration: Duration

    /// The longest message a subscriber may send at all: libzmq disconnects a subscriber that sends more, before it
    /// reaches the bus's subscription trie. It must let CURVE's handshake commands through (a few hundred bytes);
    /// the forwarder then holds subscriptions to `BusLimits.maxTopicBytes`.
    public var maxSubscriptionBytes: Int64 { 1_024 }

    public init(
        publishBind: String = "tcp://127.0.0.1:5550", subscribeBind: String = "tcp://127.0.0.1:5551",
        tapBind: String = "tcp://127.0.0.1:5552", httpHost: String = "127.0.0.1", httpPort: Int = 8080,
        maxMessageBytes: Int = 1 << 20, maxFrameBytes: Int64? = nil, highWaterMark: Int32 = 20_000,
        statisticsIntervalMilliseconds: Int = 1_000, curveSecretKey: String? = nil,
        allowedClients: [String: String] = [:], maxTopicsPerIdentity: Int = 2_000, banDuration: Duration = .seconds(60)
    ) {
        self.curveSecretKey = curveSecretKey
        self.allowedClients = allowedClients
        self.publishBind = publishBind
        self.subscribeBind = subscribeBind
        self.tapBind = tapBind
        self.httpHost = httpHost
        self.httpPort = httpPort
        runtime = RuntimeConfiguration(service: "bus", httpHost: httpHost, httpPort: httpPort)
        self.maxMessageBytes = maxMessageBytes
        // A frame can be no larger than a whole message; the margin covers CURVE's framing.
        self.maxFrameBytes = maxFrameBytes ?? Int64(maxMessageBytes + 64 * 1024)
        self.highWaterMark = highWaterMark
        self.statisticsIntervalMilliseconds = statisticsIntervalMilliseconds
        self.maxTopicsPerIdentity = maxTopicsPerIdentity
        self.banDuration = banDuration
    }

    /// True when the bus runs without CURVE (only ever asked for explicitly).
    public var isInsecure: Bool { curveSecretKey == nil }

    public init(environment env: Environment) throws {
        let defaults = BusServerConfiguration()
        self.init(
            publishBind: env.string("VECTIS_BUS_PUBLISH_BIND", default: defaults.publishBind),
            subscribeBind: env.string("VECTIS_BUS_SUBSCRIBE_BIND", default: defaults.subscribeBind),
            tapBind: env.string("VECTIS_BUS_TAP_BIND", default: defaults.tapBind),
            httpHost: env.string("VECTIS_HTTP_HOST", default: defaults.httpHost),
            httpPort: try env.int("VECTIS_HTTP_PORT", default: defaults.httpPort),
            maxMessageBytes: try env.int("VECTIS_BUS_MAX_MESSAGE_BYTES", default: defaults.maxMessageBytes),
            maxFrameBytes: try env["VECTIS_BUS_MAX_FRAME_BYTES"].map { _ in Int64(try env.int("VECTIS_BUS_MAX_FRAME_BYTES", default: 0)) },
            highWaterMark: Int32(clamping: try env.int("VECTIS_BUS_HWM", default: Int(defaults.highWaterMark))),
            statisticsIntervalMilliseconds: try env.int(
                "VECTIS_BUS_STATISTICS_INTERVAL_MS", default: defaults.statisticsIntervalMilliseconds),
            maxTopicsPerIdentity: try env.int("VECTIS_BUS_MAX_TOPICS_PER_IDENTITY", default: defaults.maxTopicsPerIdentity),
            banDuration: .seconds(try env.int("VECTIS_BUS_BAN_SECONDS", default: 60)))
        runtime = try RuntimeConfiguration(service: "bus", defaultHTTPPort: defaults.httpPort, environment: env, usesBus: false)
        (runtime.httpHost, runtime.httpPort) = (httpHost, httpPort)
        if let file = env["VECTIS_BUS_CURVE_SECRET_KEY_FILE"] {
            do {
                curveSecretKey = try BusKeyDirectory.key(in: file)
            } catch {
                throw ConfigurationError(
                    variable: "VECTIS_BUS_CURVE_SECRET_KEY_FILE", value: file, expected: "a file with a 40-character Z85 secret key")
            }
            guard let allowed = env["VECTIS_BUS_ALLOWED_KEYS_FILE"],
                let text = try? String(contentsOfFile: allowed, encoding: .utf8)
            else {
                throw ConfigurationError(
                    variable: "VECTIS_BUS_ALLOWED_KEYS_FILE", value: env["VECTIS_BUS_ALLOWED_KEYS_FILE"] ?? "(unset)",
                    expected: "a readable allow-list when CURVE is on: `<public key> <identity>` per line")
            }
            allowedClients = BusKeyDirectory.parseAllowList(text)
        } else if RuntimeConfiguration.busInsecure(env) {
            return
        } else if let directory = BusKeyDirectory.resolve(env.values) {
            do {
                curveSecretKey = try directory.serverSecretKey
                allowedClients = try directory.allowList
            } catch {
                throw ConfigurationError(
                    variable: "VECTIS_BUS_KEY_DIR", value: directory.path,
                    expected: "a bus key folder with bus.secret and allowed_keys (vectis keys init --dir …): \(error)")
            }
        } else {
            throw ConfigurationError(
                variable: "VECTIS_BUS_KEY_DIR", value: "(unset, and no <VECTIS_DATA_DIR>/bus-keys)",
                expected:
                    "set: the bus is authenticated (CURVE) by default — create keys with `vectis keys init --dir DIR`, or set VECTIS_BUS_INSECURE=1 for development only"
            )
        }
    }
}
