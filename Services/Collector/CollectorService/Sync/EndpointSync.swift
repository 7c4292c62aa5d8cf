import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// Endpoint Backup (Direct-to-Cloud) through the same pipeline as BCDR: each organization's endpoints stand under
/// one stand-in device (serial `dtc-<organizationId>`, or `dtc-unassigned`), each endpoint is an agent of kind
/// `endpoint` (volume: its `assetUuid`), and each of its `last10Backups` a run.
extension SyncRunner {
    /// Reads the endpoints with at most `remaining` requests (nil: no limit); returns the new runs, or nil when not
    /// read (no budget left, or the key has no Endpoint Backup scope: said in the log, never a failed sync).
    func syncEndpoints(syncId: String, remaining: Int?) async throws -> Int? {
        if let remaining, remaining <= 0 { return nil }
        let assets: [DattoEndpointAsset]
        let pages = min(remaining ?? DattoClient.endpointPageLimit, DattoClient.endpointPageLimit)
        do {
            assets = try await client.endpointAssets(maxPages: pages)
        } catch let error as DattoError {
            if error.kind == .unauthorized { throw error }
            logger.info("Endpoint Backup not read", metadata: ["tenant": "\(tenant)", "error": "\(error.message)"])
            return nil
        }
        // A list cut short by the budget says only that there are at least that many.
        let (tenant, readAt, whole) = (self.tenant, clock(), assets.count < pages * 100)
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO endpoint_state (tenant, endpoints, read_at) VALUES (?, ?, ?)
                    ON CONFLICT (tenant) DO UPDATE SET read_at = excluded.read_at,
                        endpoints = CASE WHEN ? THEN excluded.endpoints ELSE max(excluded.endpoints, endpoint_state.endpoints) END
                    """, arguments: [tenant, assets.count, readAt.timeIntervalSince1970, whole])
        }
        let byOrganization = Dictionary(grouping: assets) { $0.organizationId }
        var runs = 0
        for (organization, endpoints) in byOrganization {
            runs += try await publishEndpoints(endpoints, organization: organization, syncId: syncId)
        }
        return runs
    }

    private func publishEndpoints(_ endpoints: [DattoEndpointAsset], organization: Int64?, syncId: String) async throws -> Int {
        let name = endpoints.lazy.compactMap(\.organizationName).first
        let customer =
            organization.map { CustomerRef(key: "org:\($0)", name: name ?? "Organization \($0)") }
            ?? name.map { CustomerRef(key: "name:\(CustomerKey.normalize($0))", name: $0) } ?? CustomerKey.unassigned
        let serial = "dtc-" + (organization.map(String.init) ?? "unassigned")
        let (tenant, outbox, readAt) = (self.tenant, self.outbox, clock())
        return try await database.write { db in
            try outbox.append(
                DattoDeviceSeen(
                    serialNumber: serial, name: "Endpoint Backup (\(customer.name))", model: "Endpoint Backup", customer: customer,
                    assetVolumes: endpoints.map(\.assetUuid), observedAt: readAt),
                tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
            var published = 0
            let now = Date()
            for endpoint in endpoints {
                try outbox.append(
                    DattoAgentSeen(
                        deviceSerial: serial, customer: customer, volume: endpoint.assetUuid, name: endpoint.name, kind: .endpoint,
                        lastSnapshotAt: endpoint.backups.filter(\.succeeded).map(\.timestamp).max(), observedAt: readAt),
                    tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                for backup in endpoint.backups.sorted(by: { $0.timestamp < $1.timestamp }) {
                    guard
                        try ObservedRuns.firstSeen(
                            tenant: tenant, serial: serial, volume: endpoint.assetUuid, runAt: backup.timestamp, at: now, db)
                    else { continue }
                    try outbox.append(
                        BackupRunObserved(
                            deviceSerial: serial, agentVolume: endpoint.assetUuid, agentName: endpoint.name, customer: customer,
                            runAt: backup.timestamp, rawStatus: backup.succeeded ? "success" : "failure",
                            errorMessage: backup.succeeded
                                ? nil : "Endpoint backup failed (Datto gives no message for Direct-to-Cloud runs)", kind: .endpoint),
                        tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                    published += 1
                }
            }
            return published
        }
    }
}
