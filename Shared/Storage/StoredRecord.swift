import Foundation
import GRDB
import Synchronization

/// A table's row read with GRDB's `Decodable` support, the same way in every service: snake_case columns map to
/// camelCase properties, `Date` columns hold Unix time, and an enum property refuses a value it does not name.
public protocol StoredRecord: FetchableRecord, Decodable {}

extension StoredRecord {
    /// GRDB's own `.convertFromSnakeCase` converts every column of every row again, which was a sixth of the rules
    /// service's CPU on the pipeline (each decision reads its rules): the conversion is remembered per column name.
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .custom(StoredColumnKeys.key(forColumn:)) }

    public static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy { .timeIntervalSince1970 }
}

/// camelCase keys of snake_case column names, converted once each.
public enum StoredColumnKeys {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Column names come from this project's own queries; the bound only keeps a tampered file's odd columns from
    /// growing the table without end.
    private static let converted = Mutex<[String: String]>([:])
    private static let maxRemembered = 4_096

    @Sendable public static func key(forColumn column: String) -> any CodingKey {
        if let known = converted.withLock({ $0[column] }) { return Key(stringValue: known) }
        let key = camelCase(column)
        converted.withLock { if $0.count < maxRemembered { $0[column] = key } }
        return Key(stringValue: key)
    }

    /// `first_seen_at` → `firstSeenAt`, exactly as GRDB's (and Foundation's) snake-case strategy converts it: the first
    /// word lowercased, the others capitalized, leading and trailing underscores kept.
    public static func camelCase(_ column: String) -> String {
        guard let first = column.firstIndex(where: { $0 != "_" }) else { return column }
        var last = column.index(before: column.endIndex)
        while last > first && column[last] == "_" { column.formIndex(before: &last) }
        let words = column[first...last].split(separator: "_")
        guard words.count > 1 else { return column }
        let joined = ([words[0].lowercased()] + words[1...].map { $0.capitalized }).joined()
        return String(column[..<first]) + joined + String(column[column.index(after: last)...])
    }
}
