import Foundation
import GRDB
import VectisAPI
import VectisContracts

extension AgentClass: DatabaseValueConvertible {}

/// One row of `agent_class`: what an agent protects, as Datto last described it.
enum AgentClassRecord {
    /// Kept from every `datto.agent.seen`; written only when it changed (an agent is seen on every poll).
    static func save(_ agent: DattoAgentSeen, tenant: String, at now: Date, _ db: Database) throws {
        let id = StableID.agent(tenant: tenant, deviceSerial: agent.deviceSerial, volume: agent.volume)
        let agentClass = AgentClass.of(share: agent.kind == .share, os: agent.os)
        let os = agent.os.map { String($0.prefix(120)) }
        try db.cachedStatement(
            sql: """
                INSERT INTO agent_class (agent_id, class, os, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (agent_id) DO UPDATE SET class = excluded.class, os = excluded.os, updated_at = excluded.updated_at
                WHERE class IS NOT excluded.class OR os IS NOT excluded.os
                """
        ).execute(arguments: [id, agentClass, os, now.timeIntervalSince1970])
    }

    /// The class of an agent (`a_…`); nil for an appliance, or an agent not seen yet.
    static func find(agentId: String, _ db: Database) throws -> AgentClass? {
        try AgentClass.fetchOne(db.cachedStatement(sql: "SELECT class FROM agent_class WHERE agent_id = ?"), arguments: [agentId])
    }
}
