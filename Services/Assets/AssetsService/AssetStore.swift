import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// Applies what the collector announced to the assets tables, and says what changed.
enum AssetStore {
    /// Upserts the customer (its display name follows Datto's) and the device; agents the device no longer
    /// lists are marked removed, not deleted. Publishes `asset.*` changes through `outbox`.
    static func apply(_ device: DattoDeviceSeen, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let customerId = try upsertCustomer(device.customer, tenant: tenant, at: now, db: db)
        let existing = try DeviceRecord.find(tenant: tenant, serial: device.serialNumber, db)
        try db.cachedStatement(
            sql: """
                INSERT INTO device (tenant, serial_number, customer_id, name, model, last_seen_at, local_used_bytes,
                    local_available_bytes, offsite_used_bytes, remote_web_url, internal_ip, hidden, first_seen_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant, serial_number) DO UPDATE SET customer_id = excluded.customer_id, name = excluded.name,
                    model = excluded.model, last_seen_at = excluded.last_seen_at, local_used_bytes = excluded.local_used_bytes,
                    local_available_bytes = excluded.local_available_bytes, offsite_used_bytes = excluded.offsite_used_bytes,
                    remote_web_url = excluded.remote_web_url, internal_ip = excluded.internal_ip, hidden = excluded.hidden,
                    updated_at = excluded.updated_at
                """
        ).execute(arguments: [
            tenant, device.serialNumber, customerId, device.name, device.model, device.lastSeenAt?.timeIntervalSince1970,
            device.localStorageUsedBytes, device.localStorageAvailableBytes, device.offsiteStorageUsedBytes,
            device.remoteWebURL, device.internalIP, device.hidden, now.timeIntervalSince1970, now.timeIntervalSince1970
        ])
        let changed = existing.map {
            $0.name != device.name || $0.model != device.model || $0.hidden != device.hidden || $0.customerId != customerId
                || $0.remoteWebUrl != device.remoteWebURL
        }
        if existing == nil || changed == true {
            try outbox.append(
                AssetDeviceChanged(
                    change: existing == nil ? .added : .updated, serialNumber: device.serialNumber, name: device.name,
                    customer: device.customer, lastSeenAt: device.lastSeenAt),
                tenant: tenant, customerKey: device.customer.key, in: db)
        }
        guard let listed = device.assetVolumes else { return }  // the collector could not read its assets this time
        let present = Set(listed)
        for agent in try AgentRecord.listed(tenant: tenant, serial: device.serialNumber, db) where !present.contains(agent.volume) {
            try db.cachedStatement(sql: "UPDATE agent SET removed_at = ?, updated_at = ? WHERE id = ?")
                .execute(arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, agent.id])
            try outbox.append(
                AssetAgentChanged(
                    change: .removed, deviceSerial: device.serialNumber, volume: agent.volume, name: agent.name,
                    customer: device.customer, isPaused: agent.isPaused, isArchived: agent.isArchived, removedAt: now),
                tenant: tenant, customerKey: device.customer.key, in: db)
        }
    }

    /// Upserts an agent or share; one that reappears is no longer removed.
    static func apply(_ agent: DattoAgentSeen, tenant: String, at now: Date, db: Database, outbox: Outbox) throws {
        let customerId = try upsertCustomer(agent.customer, tenant: tenant, at: now, db: db)
        let id = StableID.agent(tenant: tenant, deviceSerial: agent.deviceSerial, volume: agent.volume)
        let existing = try AgentRecord.find(id: id, db)
        try db.cachedStatement(
            sql: """
                INSERT INTO agent (id, tenant, device_serial, volume, customer_id, name, kind, os, ip_address, agent_version,
                    is_paused, is_archived, last_snapshot_at, latest_offsite_at, last_screenshot_at, last_screenshot_ok,
                    removed_at, first_seen_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
                ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, name = excluded.name, kind = excluded.kind,
                    os = excluded.os, ip_address = excluded.ip_address, agent_version = excluded.agent_version,
                    is_paused = excluded.is_paused, is_archived = excluded.is_archived,
                    last_snapshot_at = excluded.last_snapshot_at, latest_offsite_at = excluded.latest_offsite_at,
                    last_screenshot_at = excluded.last_screenshot_at, last_screenshot_ok = excluded.last_screenshot_ok,
                    removed_at = NULL, updated_at = excluded.updated_at
                """
        ).execute(arguments: [
            id, tenant, agent.deviceSerial, agent.volume, customerId, agent.name, agent.kind.rawValue, agent.os,
            agent.ipAddress, agent.agentVersion, agent.isPaused, agent.isArchived, agent.lastSnapshotAt?.timeIntervalSince1970,
            agent.latestOffsiteAt?.timeIntervalSince1970, agent.lastScreenshotAttemptAt?.timeIntervalSince1970,
            agent.lastScreenshotSucceeded, now.timeIntervalSince1970, now.timeIntervalSince1970
        ])
        let changed = existing.map {
            $0.name != agent.name || $0.kind != agent.kind || $0.os != agent.os || $0.isPaused != agent.isPaused
                || $0.isArchived != agent.isArchived || $0.removedAt != nil || $0.customerId != customerId
        }
        if existing == nil || changed == true {
            try outbox.append(
                AssetAgentChanged(
                    change: existing == nil ? .added : .updated, deviceSerial: agent.deviceSerial, volume: agent.volume,
                    name: agent.name, customer: agent.customer, isPaused: agent.isPaused, isArchived: agent.isArchived),
                tenant: tenant, customerKey: agent.customer.key, in: db)
        }
    }

    /// Keeps the newest run per agent, for the customers' "failing agents" count.
    static func apply(_ run: BackupRunObserved, tenant: String, db: Database) throws {
        let id = StableID.agent(tenant: tenant, deviceSerial: run.deviceSerial, volume: run.agentVolume)
        try db.cachedStatement(
            sql: """
                INSERT INTO agent_last_run (agent_id, run_at, failed) VALUES (?, ?, ?)
                ON CONFLICT (agent_id) DO UPDATE SET run_at = excluded.run_at, failed = excluded.failed
                WHERE excluded.run_at >= agent_last_run.run_at
                """
        ).execute(arguments: [id, run.runAt.timeIntervalSince1970, !run.succeeded])
    }

    private static func upsertCustomer(_ customer: CustomerRef, tenant: String, at now: Date, db: Database) throws -> String {
        let id = StableID.customer(tenant: tenant, key: customer.key)
        try db.cachedStatement(
            sql: """
                INSERT INTO customer (id, tenant, key, name, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
                WHERE customer.name != excluded.name
                """
        )
        .execute(arguments: [id, tenant, customer.key, customer.name, now.timeIntervalSince1970, now.timeIntervalSince1970])
        return id
    }
}
