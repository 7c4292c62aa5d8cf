import Foundation
import VectisAPI

/// One Datto partner account the collector polls: a tenant of this deployment.
public struct DattoIntegration: Sendable, Equatable {
    public typealias Status = DattoSyncStatus

    public var tenant: String
    public var publicKey: String
    public var region: String
    public var isDefault: Bool
    public var status: Status
    public var lastSyncId: String?
    public var lastSyncStartedAt: Date?
    public var lastSyncAt: Date?
    public var lastError: String?
    public var lastErrorKind: DattoProblemKind?
    public var devices: Int?
    public var agents: Int?
    public var runsObserved: Int?
    public var requests: Int?
    public var updatedAt: Date
    /// What the latest sync said about SaaS Protection.
    public var saasStatus: String?
}

extension DattoIntegrationView {
    init(_ integration: DattoIntegration) {
        self.init(
            tenant: integration.tenant, publicKey: integration.publicKey, secretKeySet: true, region: integration.region,
            isDefault: integration.isDefault, status: integration.status, lastSyncId: integration.lastSyncId,
            lastSyncStartedAt: integration.lastSyncStartedAt, lastSyncAt: integration.lastSyncAt, lastError: integration.lastError,
            counts: Counts(
                devices: integration.devices, agents: integration.agents, runsObserved: integration.runsObserved,
                requests: integration.requests), saasStatus: integration.saasStatus)
    }
}
