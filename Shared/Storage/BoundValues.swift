import Foundation
import GRDB
import GRDBSQLite

/// A value bound straight into a statement's parameter. The statements every event runs bind their values this
/// way instead of through GRDB's `StatementArguments`, which boxes each value, converts it to a `DatabaseValue`
/// and builds arrays for it on every execution. The stored values are the same: each type binds as GRDB binds it.
public protocol BoundValue {
    func bind(to statement: SQLiteStatement, at index: CInt) -> CInt
}

extension String: BoundValue {}
extension Int: BoundValue {}
extension Int64: BoundValue {}
extension Double: BoundValue {}
extension Bool: BoundValue {}
extension Data: BoundValue {}

extension Optional: BoundValue where Wrapped: BoundValue {
    public func bind(to statement: SQLiteStatement, at index: CInt) -> CInt {
        switch self {
        case .some(let value): value.bind(to: statement, at: index)
        case .none: sqlite3_bind_null(statement, index)
        }
    }
}

/// A byte array bound as a blob (as GRDB binds `Data`), without copying it into a `Data` first.
public struct Blob: BoundValue {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func bind(to statement: SQLiteStatement, at index: CInt) -> CInt {
        bytes.withUnsafeBytes { buffer in
            // SQLITE_TRANSIENT: SQLite copies the bytes before this returns.
            sqlite3_bind_blob(statement, index, buffer.baseAddress, CInt(clamping: buffer.count), copiedBySQLite)
        }
    }
}

extension Statement {
    /// Binds `values` to the statement's parameters, in order; `execute()`, `fetchFirst(_:)` or a cursor then runs it.
    /// Throws (binding nothing) when the count differs from the statement's parameters.
    public func bind<each Value: BoundValue>(_ values: repeat each Value) throws {
        var count: CInt = 0
        for _ in repeat (each values) { count += 1 }
        guard count == sqlite3_bind_parameter_count(sqliteStatement) else {
            throw DatabaseError(
                resultCode: .SQLITE_MISUSE,
                message: "wrong number of statement arguments: \(count) for \(sqlite3_bind_parameter_count(sqliteStatement))",
                sql: sql)
        }
        // A step that failed leaves its error for the next reset to report, and GRDB's own reset below would trap on
        // it: reset here first, once, ignoring the old error (it was thrown when it happened).
        sqlite3_reset(sqliteStatement)
        // Empty arguments marked valid: GRDB resets the statement without binding anything over these values.
        setUncheckedArguments(StatementArguments())
        var index: CInt = 0
        for value in repeat (each values) {
            index += 1
            let code = value.bind(to: sqliteStatement, at: index)
            guard code == SQLITE_OK else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(sqliteStatement))),
                    sql: sql)
            }
        }
    }
}

// SQLITE_TRANSIENT, SQLite's "copy this now" destructor (a macro Swift does not import).
private let copiedBySQLite = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
