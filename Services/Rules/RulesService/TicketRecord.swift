import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// One row of `ticket`: a ticket Vectis opened (or is opening) for one problem and rule.
struct TicketRecord: StoredRecord, Sendable {
    var id: Int64
    var ruleId: Int64
    /// `vectis:<tenant>:<customer>:<subject>:ru_<rule>`: written into the PSA ticket, so it can be found again.
    var dedupeKey: String
    var tenant: String
    var customerId: String
    var customerName: String
    var agentId: String
    var agentName: String
    var deviceSerial: String
    var companyId: String
    var externalId: String?
    var state: TicketState
    var openedNight: String
    /// The night (or day) of the latest note: one note per night however often the problem is seen.
    var lastNotedNight: String
    var notes: Int
    var recoveredAt: Date?
    var createdAt: Date
    var closedAt: Date?
    var summary: String?
    var closedBy: TicketView.Closer?
    /// What the PSA answered when the ticket was last read back (`checkedAt`).
    var psaState: TicketView.PSAState?
    var psaStatus: String?
    var checkedAt: Date?
    var reopens: Int
    var replacesTicketId: Int64?
    var agentClass: AgentClass?

    var isLive: Bool { state == .opening || state == .open }

    func view(psa: PSAKind) -> TicketView {
        TicketView(
            id: id, ruleId: "ru_\(ruleId)", psa: psa, externalId: externalId, state: state, customerId: customerId,
            customerName: customerName, agentName: agentName, companyId: companyId, notes: notes, openedNight: openedNight,
            summary: summary, openedAt: createdAt, closedAt: closedAt, closedBy: closedBy, psaState: psaState, psaStatus: psaStatus,
            checkedAt: checkedAt, reopens: reopens, replacesTicketId: replacesTicketId, agentClass: agentClass)
    }

    /// The latest ticket of a rule for a problem, live or not: what a new failure reopens, replaces or notes.
    /// Asked on every decision and mostly answered "none", so the id is looked up first: reading a whole record costs
    /// a column table per query, which was the largest part of a decision's reads.
    static func latest(rule: Int64, dedupeKey: String, _ db: Database) throws -> TicketRecord? {
        let query = try db.cachedStatement(sql: "SELECT id FROM ticket WHERE rule_id = ? AND dedupe_key = ? ORDER BY id DESC LIMIT 1")
        try query.bind(rule, dedupeKey)
        guard let id = try query.fetchFirst({ try $0.value(0, as: Int64.self) }) else { return nil }
        return try find(id: id, db)
    }

    static func find(id: Int64, _ db: Database) throws -> TicketRecord? {
        try TicketRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM ticket WHERE id = ?"), arguments: [id])
    }

    /// The live (opening or open) ticket of a rule for a problem.
    static func live(rule: Int64, dedupeKey: String, _ db: Database) throws -> TicketRecord? {
        try TicketRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM ticket WHERE rule_id = ? AND dedupe_key = ? AND \(TicketState.liveSQL)"),
            arguments: [rule, dedupeKey])
    }

    /// Every ticket (or one rule's) with its rule's PSA, newest first.
    /// Which tickets a list shows (nil: any).
    struct Filter: Sendable {
        var rule: Int64?
        var customerId: String?
        var since: Date?
    }

    static func views(rule: Int64?, _ db: Database) throws -> [TicketView] {
        try views(Filter(rule: rule), db)
    }

    static func views(_ filter: Filter, _ db: Database) throws -> [TicketView] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT t.*, r.psa FROM ticket t JOIN rule r ON r.id = t.rule_id
                    WHERE (? IS NULL OR t.rule_id = ?) AND (? IS NULL OR t.customer_id = ?) AND (? IS NULL OR t.created_at >= ?)
                    ORDER BY t.id DESC
                    """),
            arguments: [
                filter.rule, filter.rule, filter.customerId, filter.customerId, filter.since?.timeIntervalSince1970,
                filter.since?.timeIntervalSince1970
            ]
        ).map { row in try TicketRecord(row: row).view(psa: try row.decodeValue(PSAKind.self, forColumn: "psa")) }
    }
}

/// One row of `psa_mapping`: which PSA company a customer is.
struct PSAMappingRecord: StoredRecord, Sendable {
    var psa: PSAKind
    var customerId: String
    var companyId: String
    var updatedAt: Date

    var view: PSAMapping { PSAMapping(psa: psa, customerId: customerId, companyId: companyId, updatedAt: updatedAt) }

    static func companyId(psa: PSAKind, customerId: String, _ db: Database) throws -> String? {
        let query = try db.cachedStatement(sql: "SELECT company_id FROM psa_mapping WHERE psa = ? AND customer_id = ?")
        try query.bind(psa.rawValue, customerId)
        return try query.fetchFirst { try $0.optional(0, as: String.self) } ?? nil
    }

    static func all(psa: PSAKind?, _ db: Database) throws -> [PSAMappingRecord] {
        try PSAMappingRecord.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM psa_mapping WHERE ? IS NULL OR psa = ? ORDER BY psa, customer_id"),
            arguments: [psa, psa])
    }

    static func save(psa: PSAKind, customerId: String, companyId: String, at now: Date, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO psa_mapping (psa, customer_id, company_id, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (psa, customer_id) DO UPDATE SET company_id = excluded.company_id, updated_at = excluded.updated_at
                """
        ).execute(arguments: [psa, customerId, companyId, now.timeIntervalSince1970])
    }
}
