import GRDB

/// A row read by column position, in the order the record's own SELECT lists its columns. The hottest records are
/// read this way: GRDB's `Row` builds a table of the statement's lower-cased column names for every query it reads,
/// which was ≈ 7% of the alerts service's time on the pipeline, for two or three rows a message.
///
/// A value that is NULL where the record wants one, or of a type it cannot convert, throws (naming the column)
/// instead of trapping, as GRDB's `Row` subscripts do: a damaged file fails one message, not the process.
public protocol StoredColumns {
    /// The column's value as stored.
    func databaseValue(at index: Int) -> DatabaseValue
    /// The column's name, for errors.
    func columnName(at index: Int) -> String
}

extension StoredColumns {
    public func value<Value: DatabaseValueConvertible>(_ index: Int, as type: Value.Type = Value.self) throws -> Value {
        let stored = databaseValue(at: index)
        guard let value = Value.fromDatabaseValue(stored) else {
            throw UnreadableStoredValue(column: columnName(at: index), value: stored)
        }
        return value
    }

    public func optional<Value: DatabaseValueConvertible>(_ index: Int, as type: Value.Type = Value.self) throws -> Value? {
        let stored = databaseValue(at: index)
        if stored.isNull { return nil }
        guard let value = Value.fromDatabaseValue(stored) else {
            throw UnreadableStoredValue(column: columnName(at: index), value: stored)
        }
        return value
    }

    /// A text column read as the enum its values name; a value this version does not know is refused, never guessed.
    public func enumValue<Value: RawRepresentable>(_ index: Int, as type: Value.Type = Value.self) throws -> Value
    where Value.RawValue == String {
        let text: String = try value(index)
        guard let value = Value(rawValue: text) else { throw UnknownStoredValue(column: columnName(at: index), value: text) }
        return value
    }
}

extension Row {
    /// Refuses a row whose columns are not `names`, in order: a record read by position must come from its own SELECT.
    public func requireColumns(_ names: [String], select: String) throws {
        guard columnNames.elementsEqual(names) else { throw StoredColumnsMismatch(expected: select) }
    }
}

extension Row: StoredColumns {
    public func databaseValue(at index: Int) -> DatabaseValue {
        index < count ? self[index] : .null
    }

    public func columnName(at index: Int) -> String {
        index < count ? columnNames[columnNames.index(columnNames.startIndex, offsetBy: index)] : "#\(index)"
    }
}

/// The statement's current row (valid only inside ``GRDB/Statement/fetchFirst(arguments:_:)``'s closure).
public struct StatementColumns: StoredColumns {
    let statement: Statement

    public func databaseValue(at index: Int) -> DatabaseValue {
        index < statement.columnCount ? DatabaseValue(sqliteStatement: statement.sqliteStatement, index: CInt(index)) : .null
    }

    public func columnName(at index: Int) -> String {
        index < statement.columnCount ? statement.columnNames[index] : "#\(index)"
    }
}

extension Statement {
    /// The first row this statement answers for `arguments`, read by position, or nil when there is none. For queries
    /// that answer one row at most (a key, a unique index): the statement is stepped to its end, so it is finished
    /// before the transaction goes on.
    public func fetchFirst<Value>(arguments: StatementArguments, _ read: (StatementColumns) throws -> Value) throws -> Value? {
        try setArguments(arguments)
        return try fetchFirst(read)
    }

    /// The first row for the values bound by ``GRDB/Statement/bind(_:)``, read by position (as above).
    public func fetchFirst<Value>(_ read: (StatementColumns) throws -> Value) throws -> Value? {
        let cursor = StepCursor(statement: self)
        guard try cursor.next() != nil else { return nil }
        let value = try read(StatementColumns(statement: self))
        while try cursor.next() != nil {}
        return value
    }

    /// Every row this statement answers for the values bound by ``GRDB/Statement/bind(_:)`` (or `arguments`), each
    /// read by position.
    public func fetchAll<Value>(arguments: StatementArguments? = nil, _ read: (StatementColumns) throws -> Value) throws -> [Value] {
        if let arguments { try setArguments(arguments) }
        let cursor = StepCursor(statement: self)
        let columns = StatementColumns(statement: self)
        var values: [Value] = []
        while try cursor.next() != nil { values.append(try read(columns)) }
        return values
    }
}

/// Steps a statement; its element says only that there is a row.
private final class StepCursor: DatabaseCursor {
    typealias Element = Void
    let _statement: Statement
    var _isDone = false

    init(statement: Statement) {
        _statement = statement
    }

    func _element(sqliteStatement: SQLiteStatement) throws {}
}

/// A stored value that is NULL, or of a type its column's reader cannot take (a file edited by hand or damaged).
public struct UnreadableStoredValue: Error, CustomStringConvertible {
    public var column: String
    public var value: DatabaseValue
    public var description: String { "\(column) holds \(String(describing: value).prefix(60)), which cannot be read as stored" }
}

/// A record read by position from a query that does not list its columns as the record's own SELECT does.
public struct StoredColumnsMismatch: Error, CustomStringConvertible {
    public var expected: String

    public init(expected: String) {
        self.expected = expected
    }

    public var description: String { "the query does not select the record's columns in order; start it with: \(expected)" }
}
