import Foundation
import GRDB
import Testing
import VectisStorage

/// Records read every column name through `StoredColumnKeys`, which remembers GRDB's snake-case conversion per
/// name: it must give exactly the keys GRDB's own strategy gives.
@Suite("Stored records' column keys")
struct StoredRecordTests {
    /// The keys a row decodes to under a record type's column strategy.
    struct Keys<Strategy: KeyStrategy>: FetchableRecord, Decodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        var names: [String]

        init(from decoder: any Decoder) throws {
            names = try decoder.container(keyedBy: Key.self).allKeys.map(\.stringValue).sorted()
        }

        static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { Strategy.strategy }
    }

    protocol KeyStrategy { static var strategy: DatabaseColumnDecodingStrategy { get } }
    enum GRDBs: KeyStrategy { static var strategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase } }
    enum Ours: KeyStrategy { static var strategy: DatabaseColumnDecodingStrategy { .custom(StoredColumnKeys.key(forColumn:)) } }

    @Test("every column name gives the key GRDB's snake-case strategy gives, read once or many times")
    func sameKeys() throws {
        let columns = [
            "id", "first_seen_at", "customer_id", "secrets_sealed", "_private", "trailing_", "__both__", "a__b", "URL_path",
            "x_y_z", "already", "Mixed_Case_Name", "_", "é_ü", "n1_2x", "last_read_at"
        ]
        let select = "SELECT " + columns.map { "1 AS \"\($0)\"" }.joined(separator: ", ")
        let database = try DatabaseQueue()
        for _ in 0..<3 {
            let (grdb, ours) = try database.read { db in
                (try Keys<GRDBs>.fetchOne(db, sql: select)!.names, try Keys<Ours>.fetchOne(db, sql: select)!.names)
            }
            #expect(ours == grdb)
        }
        for column in columns {
            #expect(StoredColumnKeys.key(forColumn: column).stringValue == StoredColumnKeys.camelCase(column))
        }
        #expect(StoredColumnKeys.camelCase("first_seen_at") == "firstSeenAt")
    }
}
