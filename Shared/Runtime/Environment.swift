import Foundation

/// Configuration from environment variables, each with a local default so nothing is needed to run on one machine.
public struct Environment: Sendable {
    public var values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    public subscript(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    public func string(_ name: String, default defaultValue: String) -> String {
        self[name] ?? defaultValue
    }

    public func int(_ name: String, default defaultValue: Int) throws -> Int {
        guard let text = self[name] else { return defaultValue }
        guard let value = Int(text) else { throw ConfigurationError(variable: name, value: text, expected: "an integer") }
        return value
    }

    public func double(_ name: String, default defaultValue: Double) throws -> Double {
        guard let text = self[name] else { return defaultValue }
        guard let value = Double(text) else { throw ConfigurationError(variable: name, value: text, expected: "a number") }
        return value
    }

    public func bool(_ name: String, default defaultValue: Bool) throws -> Bool {
        guard let text = self[name]?.lowercased() else { return defaultValue }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(variable: name, value: text, expected: "true or false")
        }
    }
}

/// A variable that is set to something unusable. The service refuses to start rather than guess.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let variable: String
    public let value: String
    public let expected: String

    public init(variable: String, value: String, expected: String) {
        self.variable = variable
        self.value = value
        self.expected = expected
    }

    public var description: String { "\(variable)=\(value) is not \(expected)" }
}
