import Foundation

/// One Datto partner account the collector polls: a tenant of this deployment.
public struct DattoIntegration: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case neverSynced = "never-synced"
        case syncing, ok, partial, error
    }

    public var tenant: String
    public var publicKey: String
    public var region: String
    public var isDefault: Bool
    public var status: Status
    public var lastSyncId: String?
    public var lastSyncStartedAt: Date?
    public var lastSyncAt: Date?
    public var lastError: String?
    public var lastErrorKind: String?
    public var devices: Int?
    public var agents: Int?
    public var runsObserved: Int?
    public var requests: Int?
    public var updatedAt: Date
}

/// What the API and the CLI show: everything but the secret, which is only ever "set".
public struct DattoIntegrationView: Codable, Sendable, Equatable {
    public var tenant: String
    public var publicKey: String
    public var secretKeySet: Bool
    public var region: String
    public var isDefault: Bool
    public var status: String
    /// The id of the latest sync started (what `POST …/sync` returned), to tell when it has finished.
    public var lastSyncId: String?
    public var lastSyncStartedAt: Date?
    public var lastSyncAt: Date?
    public var lastError: String?
    public var counts: Counts

    public struct Counts: Codable, Sendable, Equatable {
        public var devices: Int?
        public var agents: Int?
        public var runsObserved: Int?
        public var requests: Int?
    }

    init(_ integration: DattoIntegration) {
        tenant = integration.tenant
        publicKey = integration.publicKey
        secretKeySet = true
        region = integration.region
        isDefault = integration.isDefault
        status = integration.status.rawValue
        lastSyncId = integration.lastSyncId
        lastSyncStartedAt = integration.lastSyncStartedAt
        lastSyncAt = integration.lastSyncAt
        lastError = integration.lastError
        counts = Counts(
            devices: integration.devices, agents: integration.agents, runsObserved: integration.runsObserved,
            requests: integration.requests)
    }
}
