import Foundation
import GRDB
import VectisAPI
import VectisRuntime
import VectisStorage

/// Where integrations are kept.
public protocol IntegrationRepository: Sendable {
    func all() async throws -> [DattoIntegration]
    func find(tenant: String) async throws -> DattoIntegration?
    /// The credentials to call Datto with (the secret decrypted for the call only).
    func credentials(tenant: String) async throws -> DattoCredentials?
    /// Creates or updates; a nil secret keeps the stored one. History (runs, cursors) is never touched.
    func save(tenant: String, publicKey: String, secretKey: String?, region: String, makeDefault: Bool) async throws
    func defaultTenant() async throws -> String?
    func syncStarted(tenant: String, syncId: String, at: Date) async throws
    func syncFinished(tenant: String, status: DattoIntegration.Status, at: Date, summary: SyncSummary?, error: DattoError?) async throws
}

/// Integrations in the collector's SQLite database, secrets sealed with the `SecretBox`.
extension DattoSyncStatus: DatabaseValueConvertible {}

/// One row of `datto_integration` (the sealed secret is read only by `credentials(tenant:)`).
extension DattoIntegration: FetchableRecord {
    public init(row: Row) throws {
        self.init(
            tenant: row["tenant"], publicKey: row["public_key"], region: row["region"], isDefault: row["is_default"],
            status: try row.decodeValue(DattoSyncStatus.self, forColumn: "status"), lastSyncId: row["last_sync_id"],
            lastSyncStartedAt: row["last_sync_started_at"], lastSyncAt: row["last_sync_at"], lastError: row["last_error"],
            // A diagnostic, not a state: a kind this version does not know reads as none.
            lastErrorKind: (row["last_error_kind"] as String?).flatMap(DattoProblemKind.init(rawValue:)), devices: row["devices"],
            agents: row["agents"], runsObserved: row["runs_observed"], requests: row["requests"], updatedAt: row["updated_at"],
            saasStatus: row["saas_status"])
    }
}

public struct SQLiteIntegrationRepository: IntegrationRepository {
    let database: DatabasePool
    let secrets: SecretBox

    public init(database: DatabasePool, secrets: SecretBox) {
        self.database = database
        self.secrets = secrets
    }

    public func all() async throws -> [DattoIntegration] {
        try await database.read { db in
            try DattoIntegration.fetchAll(db.cachedStatement(sql: "SELECT * FROM datto_integration ORDER BY is_default DESC, tenant"))
        }
    }

    public func find(tenant: String) async throws -> DattoIntegration? {
        try await database.read { db in
            try DattoIntegration.fetchOne(db.cachedStatement(sql: "SELECT * FROM datto_integration WHERE tenant = ?"), arguments: [tenant])
        }
    }

    public func credentials(tenant: String) async throws -> DattoCredentials? {
        let row = try await database.read { db in
            try Row.fetchOne(
                db, sql: "SELECT public_key, secret_sealed, region FROM datto_integration WHERE tenant = ?", arguments: [tenant])
        }
        guard let row else { return nil }
        return DattoCredentials(
            publicKey: row["public_key"], secretKey: try secrets.open(row["secret_sealed"]), region: row["region"])
    }

    public func save(tenant: String, publicKey: String, secretKey: String?, region: String, makeDefault: Bool) async throws {
        let sealed = try secretKey.map { try secrets.seal($0) }
        try await database.write { db in
            let now = Date().timeIntervalSince1970
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM datto_integration WHERE tenant = ?", arguments: [tenant]) ?? false
            let isFirst = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM datto_integration") == 0
            if makeDefault || isFirst {
                try db.execute(sql: "UPDATE datto_integration SET is_default = 0")
            }
            if exists {
                try db.execute(
                    sql: """
                        UPDATE datto_integration SET public_key = ?, region = ?, updated_at = ?,
                            secret_sealed = coalesce(?, secret_sealed), is_default = is_default OR ?
                        WHERE tenant = ?
                        """,
                    arguments: [publicKey, region, now, sealed, makeDefault, tenant])
            } else {
                guard let sealed else { throw IntegrationError.secretRequired }
                try db.execute(
                    sql: """
                        INSERT INTO datto_integration (tenant, public_key, secret_sealed, region, is_default, status,
                            created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [tenant, publicKey, sealed, region, makeDefault || isFirst, DattoSyncStatus.neverSynced, now, now])
            }
        }
    }

    public func defaultTenant() async throws -> String? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT tenant FROM datto_integration ORDER BY is_default DESC, tenant LIMIT 1")
        }
    }

    public func syncStarted(tenant: String, syncId: String, at date: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE datto_integration SET status = ?, last_sync_id = ?, last_sync_started_at = ? WHERE tenant = ?",
                arguments: [DattoSyncStatus.syncing, syncId, date.timeIntervalSince1970, tenant])
        }
    }

    public func syncFinished(
        tenant: String, status: DattoIntegration.Status, at date: Date, summary: SyncSummary?, error: DattoError?
    ) async throws {
        try await database.write { db in
            if let summary {
                try db.execute(
                    sql: """
                        UPDATE datto_integration SET status = ?, last_sync_at = ?, last_error = ?, last_error_kind = ?,
                            devices = ?, agents = ?, runs_observed = ?, requests = ?, saas_status = coalesce(?, saas_status)
                        WHERE tenant = ?
                        """,
                    arguments: [
                        status.rawValue, date.timeIntervalSince1970, error?.message, error?.kind.rawValue,
                        summary.devices, summary.agents, summary.runsObserved, summary.requests, summary.saas, tenant
                    ])
            } else {
                try db.execute(
                    sql: "UPDATE datto_integration SET status = ?, last_error = ?, last_error_kind = ? WHERE tenant = ?",
                    arguments: [status.rawValue, error?.message, error?.kind.rawValue, tenant])
            }
        }
    }
}

public enum IntegrationError: Error, CustomStringConvertible {
    case secretRequired

    public var description: String {
        switch self {
        case .secretRequired: "secretKey is required the first time an integration is configured"
        }
    }
}
