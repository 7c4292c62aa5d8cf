import GRDB
import VectisAPI

/// The enabled rules of each tenant and trigger, read once per transaction of the database's writer: every problem
/// in a consumer batch asks for them, and decoding the rule rows for each was a sixth of the rules service's CPU.
/// Any commit or rollback forgets them, so an edit — through the API, or to the file by another process — is seen
/// by the next batch. (One gap is left: when SQLite itself rolls a transaction back — disk full, an I/O error — GRDB
/// tells no observer, so the retried batch can still use the list read before; only an edit by another process in
/// that moment would differ, and the next commit forgets it.)
final class EnabledRules: TransactionObserver, @unchecked Sendable {
    // Read and written only on the writer's queue: by `rules` inside a write, and by the commit and rollback
    // callbacks, which GRDB calls there too.
    private var cached: [String: [RuleRecord]] = [:]

    /// Registers the cache with the writer for the database's lifetime.
    init(_ database: DatabasePool) {
        database.add(transactionObserver: self, extent: .databaseLifetime)
    }

    func rules(tenant: String, trigger: RuleTrigger, _ db: Database) throws -> [RuleRecord] {
        // Outside a write transaction nothing would ever forget the list (and another thread could be reading it).
        guard db.isInsideTransaction else { return try RuleRecord.enabled(tenant: tenant, trigger: trigger, db) }
        let key = tenant + "\u{0}" + trigger.rawValue
        if let known = cached[key] { return known }
        let rules = try RuleRecord.enabled(tenant: tenant, trigger: trigger, db)
        cached[key] = rules
        return rules
    }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }

    func databaseDidChange(with event: DatabaseEvent) {}

    func databaseDidCommit(_ db: Database) { cached.removeAll(keepingCapacity: true) }

    func databaseDidRollback(_ db: Database) { cached.removeAll(keepingCapacity: true) }
}
