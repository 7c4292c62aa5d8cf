import Foundation
import VectisContracts

/// The APIs' JSON conventions (ISO-8601 UTC timestamps with milliseconds, sorted keys), the same as the bus's.
public enum APIJSON {
    public static func encoder() -> JSONEncoder { BusJSON.makeEncoder() }
    public static func decoder() -> JSONDecoder { BusJSON.makeDecoder() }

    /// Decodes an API answer into its shape.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decoder().decode(type, from: data)
    }
}

/// Every error answer: `{"error": "what was wrong"}`.
public struct APIProblem: Codable, Sendable, Equatable {
    public var error: String
    public init(error: String) { self.error = error }
}
