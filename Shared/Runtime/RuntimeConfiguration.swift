import Foundation
import Logging
import VectisBus

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

    public var stream: String { "\(service)/\(instance)" }

    public init(
        service: String, instance: String = RuntimeConfiguration.defaultInstance, httpHost: String = "127.0.0.1",
        httpPort: Int, bus: BusConfiguration = BusConfiguration(), logLevel: Logger.Level = .info,
        logFormat: LogFormat = .human
    ) {
        self.service = service
        self.instance = instance
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.bus = bus
        self.logLevel = logLevel
        self.logFormat = logFormat
    }

    /// Reads `VECTIS_*` variables over the defaults for `service`.
    public init(service: String, defaultHTTPPort: Int, environment env: Environment = Environment()) throws {
        var bus = BusConfiguration()
        bus.publishEndpoint = env.string("VECTIS_BUS_PUBLISH", default: bus.publishEndpoint)
        bus.subscribeEndpoint = env.string("VECTIS_BUS_SUBSCRIBE", default: bus.subscribeEndpoint)
        bus.tapEndpoint = env.string("VECTIS_BUS_TAP", default: bus.tapEndpoint)
        bus.maxMessageBytes = try env.int("VECTIS_BUS_MAX_MESSAGE_BYTES", default: bus.maxMessageBytes)
        bus.sendHighWaterMark = Int32(try env.int("VECTIS_BUS_SNDHWM", default: Int(bus.sendHighWaterMark)))
        bus.receiveHighWaterMark = Int32(try env.int("VECTIS_BUS_RCVHWM", default: Int(bus.receiveHighWaterMark)))
        let levelText = env.string("VECTIS_LOG_LEVEL", default: "info")
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ConfigurationError(
                variable: "VECTIS_LOG_LEVEL", value: levelText, expected: "trace, debug, info, notice, warning or error")
        }
        let formatText = env.string("VECTIS_LOG_FORMAT", default: "human")
        guard let format = LogFormat(rawValue: formatText) else {
            throw ConfigurationError(variable: "VECTIS_LOG_FORMAT", value: formatText, expected: "human or json")
        }
        self.init(
            service: service,
            instance: env.string("VECTIS_INSTANCE", default: Self.defaultInstance),
            httpHost: env.string("VECTIS_HTTP_HOST", default: "127.0.0.1"),
            httpPort: try env.int("VECTIS_HTTP_PORT", default: defaultHTTPPort),
            bus: bus, logLevel: level, logFormat: format)
    }

    /// The host name, so replicas on different hosts or containers get distinct streams.
    public static var defaultInstance: String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local"
    }
}
