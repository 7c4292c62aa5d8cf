import Foundation
import GRDB
import VectisContracts
import VectisDelivery

/// SaaS Protection through the same pipeline as BCDR: each domain stands where an appliance would (serial
/// `saas-<saasCustomerId>`, its customer found like a device's: organization id, else name), each application
/// (Exchange, OneDrive, SharePoint…) is an agent of kind `saas`, and each backup a run — so failed nights, missed
/// backups, alerts, hub cards and rules work for them unchanged.
///
/// A key without the SaaS scope answers 403: that is one status line on the integration, never a failed sync.
extension SyncRunner {
    /// What a sync says about SaaS Protection.
    enum SaaSOutcome: Equatable {
        case read(domains: Int, applications: Int, runs: Int)
        case noScope
        case failed(String)

        var statusLine: String {
            switch self {
            case .read(let domains, let applications, _):
                "SaaS Protection: \(domains) domain\(domains == 1 ? "" : "s"), \(applications) application\(applications == 1 ? "" : "s") watched"
            case .noScope: "The key has no SaaS Protection scope"
            case .failed(let message): "SaaS Protection could not be read: \(message)"
            }
        }
    }

    /// Reads SaaS Protection with at most `remaining` requests (nil: no limit); nil when the budget left none.
    func syncSaaS(syncId: String, remaining: Int?) async throws -> SaaSOutcome? {
        if let remaining, remaining <= 0 { return nil }
        let domains: [DattoSaaSDomain]
        do {
            domains = try await client.saasDomains()
        } catch let error as DattoError {
            switch error.kind {
            case .forbidden, .notFound:
                try await saveSaaSState(domains: 0)
                return .noScope
            case .unauthorized: throw error
            default: return .failed(error.message)
            }
        }
        // When the budget cannot cover every domain, each poll goes on where the last one stopped, so every domain
        // comes round in turn.
        let limit = remaining.map { max(0, $0 - 1) } ?? domains.count
        let tenant = self.tenant
        let next = try await database.read { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT next_domain FROM saas_state WHERE tenant = ?"), arguments: [tenant]) ?? 0
        }
        let offset = limit < domains.count ? max(0, next) % max(1, domains.count) : 0
        let ordered = Array(domains[offset...] + domains[..<offset])
        try await saveSaaSState(domains: domains.count, next: domains.isEmpty ? 0 : (offset + min(limit, domains.count)) % domains.count)
        var applications = 0
        var runs = 0
        var failures: [String] = []
        for domain in ordered.prefix(limit) {
            do {
                let apps = try await client.saasApplications(saasCustomerId: domain.saasCustomerId)
                applications += apps.count
                runs += try await publishSaaS(domain, applications: apps, syncId: syncId)
            } catch let error as DattoError {
                if error.kind == .unauthorized { throw error }
                failures.append(error.message)
            }
        }
        if domains.isEmpty || failures.count < min(domains.count, limit) {
            return .read(domains: domains.count, applications: applications, runs: runs)
        }
        return .failed(failures.first ?? "no domain could be read")
    }

    /// How many domains the key had at this read: what later budgeted polls set aside (`PollSurfaces`).
    private func saveSaaSState(domains: Int, next: Int = 0) async throws {
        let (tenant, readAt) = (self.tenant, clock())
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO saas_state (tenant, domains, read_at, next_domain) VALUES (?, ?, ?, ?)
                    ON CONFLICT (tenant) DO UPDATE SET domains = excluded.domains, read_at = excluded.read_at,
                        next_domain = excluded.next_domain
                    """, arguments: [tenant, domains, readAt.timeIntervalSince1970, next])
        }
    }

    /// The customer of a SaaS domain, as for a device: `org:<id>`, else the name, else Unassigned.
    static func customer(of domain: DattoSaaSDomain) -> CustomerRef {
        let name = [domain.organizationName, domain.name].compactMap { $0?.trimmingCharacters(in: .whitespacesAndNewlines) }
            .first { !$0.isEmpty }
        if let id = domain.organizationId { return CustomerRef(key: "org:\(id)", name: name ?? "Organization \(id)") }
        if let name { return CustomerRef(key: "name:\(CustomerKey.normalize(name))", name: name) }
        return CustomerKey.unassigned
    }

    /// The domain, its applications and each backup not published yet, in one transaction.
    private func publishSaaS(_ domain: DattoSaaSDomain, applications: [DattoSaaSApplication], syncId: String) async throws -> Int {
        let customer = Self.customer(of: domain)
        let serial = "saas-\(domain.saasCustomerId)"
        let (tenant, outbox, readAt) = (self.tenant, self.outbox, clock())
        let volume: @Sendable (DattoSaaSApplication) -> String = { app in
            "\(serial)-\(app.appType.lowercased().replacingOccurrences(of: " ", with: "-"))"
        }
        return try await database.write { db in
            try outbox.append(
                DattoDeviceSeen(
                    serialNumber: serial, name: domain.domain, model: "SaaS Protection", customer: customer, lastSeenAt: nil, hidden: false,
                    assetVolumes: applications.map(volume), observedAt: readAt),
                tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
            var published = 0
            let now = Date()
            for app in applications {
                let successes = app.backups.filter { $0.status.lowercased() == "success" }.map(\.startTime)
                try outbox.append(
                    DattoAgentSeen(
                        deviceSerial: serial, customer: customer, volume: volume(app), name: "\(domain.domain) \(app.appType)", kind: .saas,
                        lastSnapshotAt: successes.max(), observedAt: readAt),
                    tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                for backup in app.backups.sorted(by: { $0.startTime < $1.startTime }) {
                    guard
                        try ObservedRuns.firstSeen(
                            tenant: tenant, serial: serial, volume: volume(app), runAt: backup.startTime, at: now, db)
                    else { continue }
                    try outbox.append(
                        BackupRunObserved(
                            deviceSerial: serial, agentVolume: volume(app), agentName: "\(domain.domain) \(app.appType)",
                            customer: customer,
                            runAt: backup.startTime, rawStatus: backup.status.lowercased() == "success" ? "success" : backup.status,
                            errorMessage: backup.status.lowercased() == "success"
                                ? nil : backup.errorMessage ?? "\(app.appType) backup \(backup.status)", kind: .saas),
                        tenant: tenant, customerKey: customer.key, correlationId: syncId, in: db)
                    published += 1
                }
            }
            return published
        }
    }
}
