import Foundation
import GRDB
import Testing
import VectisStorage

/// The statements every event runs bind their values straight into SQLite (`Statement.bind`) instead of through
/// GRDB's `StatementArguments`: what is stored must be exactly what GRDB stores, and a statement must never run with
/// another call's values.
@Suite("Values bound straight into statements")
struct BoundValuesTests {
    static let table = "CREATE TABLE value (id INTEGER PRIMARY KEY, text TEXT, number, flag, blob BLOB, UNIQUE (text))"
    static let insert = "INSERT INTO value (text, number, flag, blob) VALUES (?, ?, ?, ?)"
    /// What SQLite holds for a row: each value's storage class and its bytes.
    static let stored = """
        SELECT typeof(text), quote(text), typeof(number), quote(number), typeof(flag), quote(flag), typeof(blob), quote(blob)
        FROM value ORDER BY id
        """

    /// A database with the table, and `body` run with its insert statement in one transaction.
    static func withInsert(_ body: (Database, Statement) throws -> Void) throws -> DatabaseQueue {
        let database = try DatabaseQueue()
        try database.write { db in
            try db.execute(sql: table)
            try body(db, try db.cachedStatement(sql: insert))
        }
        return database
    }

    @Test("every kind of value is stored exactly as GRDB's arguments store it")
    func sameStorage() throws {
        let texts: [String?] = ["", "plain", "é ü 日本 🙂", String(repeating: "x", count: 100_000), "tab\there", nil]
        let numbers: [Double?] = [0, -0.0, 1.5, -1e308, 1e-300, .greatestFiniteMagnitude, nil]
        let integers: [Int64?] = [0, -1, Int64.min, Int64.max, nil]
        let blobs: [[UInt8]] = [[], [0], [0xff, 0, 0x41], [UInt8](repeating: 7, count: 70_000)]
        let ours = try DatabaseQueue()
        let grdbs = try DatabaseQueue()
        for database in [ours, grdbs] { try database.write { try $0.execute(sql: Self.table) } }
        try ours.write { db in
            let statement = try db.cachedStatement(sql: Self.insert)
            for (index, text) in texts.enumerated() {
                try statement.bind(
                    text.map { $0 + "#\(index)" }, numbers[index % numbers.count], index % 2 == 0, Blob(blobs[index % blobs.count]))
                try statement.execute()
            }
            for (index, integer) in integers.enumerated() {
                try statement.bind("i\(index)", integer, Optional<Bool>.none, Data(blobs[index % blobs.count]))
                try statement.execute()
            }
            try statement.bind("int", Int.max, true, Optional<Data>.none)
            try statement.execute()
        }
        try grdbs.write { db in
            let statement = try db.cachedStatement(sql: Self.insert)
            for (index, text) in texts.enumerated() {
                try statement.execute(arguments: [
                    text.map { $0 + "#\(index)" }, numbers[index % numbers.count], index % 2 == 0, Data(blobs[index % blobs.count])
                ])
            }
            for (index, integer) in integers.enumerated() {
                try statement.execute(arguments: ["i\(index)", integer, nil, Data(blobs[index % blobs.count])])
            }
            try statement.execute(arguments: ["int", Int.max, true, nil])
        }
        let read = { (database: DatabaseQueue) in try database.read { try Row.fetchAll($0, sql: Self.stored) } }
        let (mine, theirs) = (try read(ours), try read(grdbs))
        #expect(mine.count == texts.count + integers.count + 1)
        #expect(mine == theirs)
    }

    @Test("a statement runs with the values bound last, whichever way the call before it bound its own")
    func noLeftoverValues() throws {
        let database = try Self.withInsert { db, statement in
            try statement.execute(arguments: ["grdb", 1, true, nil])
            try statement.bind("bound", 2, false, Optional<Data>.none)
            try statement.execute()
            try statement.execute(arguments: ["grdb again", 3, true, nil])
            try statement.bind("bound again", Optional<Int>.none, true, Blob([1]))
            try statement.execute()
            let query = try db.cachedStatement(sql: "SELECT text FROM value WHERE number = ?")
            for (number, text) in [(3, "grdb again"), (1, "grdb"), (2, "bound")] {
                try query.bind(number)
                #expect(try query.fetchFirst { try $0.value(0, as: String.self) } == text)
            }
            try query.bind(99)
            #expect(try query.fetchFirst { try $0.value(0, as: String.self) } == nil)
        }
        let texts = try database.read { try String.fetchAll($0, sql: "SELECT text FROM value ORDER BY id") }
        #expect(texts == ["grdb", "bound", "grdb again", "bound again"])
    }

    @Test("the wrong number of values is refused before anything runs")
    func wrongCount() throws {
        let database = try Self.withInsert { db, statement in
            #expect(throws: DatabaseError.self) { try statement.bind("too few", 1) }
            #expect(throws: DatabaseError.self) { try statement.bind("too many", 1, true, Blob([]), 5) }
            // Numbered parameters count up to the largest number, as SQLite does.
            let numbered = try db.cachedStatement(sql: "SELECT ?1 || ?2 || ?1")
            try numbered.bind("a", "b")
            #expect(try numbered.fetchFirst { try $0.value(0, as: String.self) } == "aba")
        }
        #expect(try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM value") } == 0)
    }

    @Test("after a statement failed, the next values bind and run (no trap on the old error)")
    func afterAFailure() throws {
        let database = try Self.withInsert { _, statement in
            try statement.bind("same", 1, true, Blob([]))
            try statement.execute()
            try statement.bind("same", 2, true, Blob([]))
            #expect(throws: DatabaseError.self) { try statement.execute() }  // UNIQUE (text)
            try statement.bind("other", 3, true, Blob([]))
            try statement.execute()
        }
        let texts = try database.read { try String.fetchAll($0, sql: "SELECT text FROM value ORDER BY id") }
        #expect(texts == ["same", "other"])
    }

    @Test("every row is read by position, in order, as GRDB reads it; a damaged value fails the read naming its column")
    func everyRowByPosition() throws {
        _ = try Self.withInsert { db, statement in
            for (text, number) in [("a", 1), ("b", 2), ("c", 3)] {
                try statement.bind(text, number, number.isMultiple(of: 2), Blob([UInt8(number)]))
                try statement.execute()
            }
            let query = try db.cachedStatement(sql: "SELECT text, number, blob FROM value WHERE id > ? ORDER BY id")
            try query.bind(1)
            let rows = try query.fetchAll {
                (try $0.value(0, as: String.self), try $0.value(1, as: Int.self), try $0.value(2, as: Data.self))
            }
            #expect(rows.map(\.0) == ["b", "c"] && rows.map(\.1) == [2, 3] && rows.map(\.2) == [Data([2]), Data([3])])
            let grdb = try Row.fetchAll(db, sql: "SELECT text, number, blob FROM value WHERE id > 1 ORDER BY id")
            #expect(grdb.map { $0[0] as String } == rows.map(\.0))
            #expect(try query.fetchAll(arguments: [3]) { try $0.value(0, as: String.self) }.isEmpty)

            try db.execute(sql: "UPDATE value SET number = NULL WHERE text = 'c'")
            let damaged = #expect(throws: UnreadableStoredValue.self) {
                try query.fetchAll(arguments: [0]) { try $0.value(1, as: Int.self) }
            }
            #expect(damaged?.column == "number")
            // The statement is usable again right after.
            #expect(try query.fetchAll(arguments: [0]) { try $0.optional(1, as: Int.self) } == [1, 2, nil])
        }
    }
}
