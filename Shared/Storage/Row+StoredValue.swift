import GRDB

extension Row {
    /// A text column read as the enum its values name (a state, a kind): a value this version does not know is
    /// refused with the column and the value, never guessed.
    public func decodeValue<Value: RawRepresentable>(_ type: Value.Type, forColumn column: String) throws -> Value
    where Value.RawValue == String {
        let text: String = self[column]
        guard let value = Value(rawValue: text) else { throw UnknownStoredValue(column: column, value: text) }
        return value
    }
}

/// A stored value the enum for its column does not name (a file from another version, or edited by hand).
public struct UnknownStoredValue: Error, CustomStringConvertible {
    public var column: String
    public var value: String
    public var description: String { "\(column) holds \"\(value.prefix(40))\", which this version does not know" }
}
