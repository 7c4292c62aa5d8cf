import GRDB

/// A table's row read with GRDB's `Decodable` support, the same way in every service: snake_case columns map to
/// camelCase properties, `Date` columns hold Unix time, and an enum property refuses a value it does not name.
public protocol StoredRecord: FetchableRecord, Decodable {}

extension StoredRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
}
