import Foundation
import Logging

public enum LogFormat: String, Sendable {
    /// One readable line per event on standard error.
    case human
    /// One JSON object per line, for log shippers and `jq`.
    case json
}

public enum VectisLogging {
    /// Installs the process-wide log handler. Call once, first thing in `main`.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler
            switch format {
            case .human: handler = StreamLogHandler.standardError(label: label)
            case .json: handler = JSONLineLogHandler(label: label)
            }
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes `{"ts":…,"level":…,"logger":…,"msg":…, metadata…}` lines to standard error.
public struct JSONLineLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "ts": Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true)),
            "level": event.level.rawValue,
            "logger": label,
            "msg": "\(event.message)"
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged where object[key] == nil {
            object[key] = Self.plain(value)
        }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            // The log line itself cannot fail silently: the message goes out plain.
            FileHandle.standardError.write(Data("\(event.level.rawValue) \(label): \(event.message) [metadata not encodable]\n".utf8))
            return
        }
        data.append(0x0A)
        FileHandle.standardError.write(data)
    }

    private static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }
}
