import Foundation
import VectisContracts

// The collector's HTTP shapes (`docs/openapi/collector.json`): the Datto integrations.

/// Where an integration's syncing stands.
public enum DattoSyncStatus: String, Codable, Sendable, CaseIterable {
    case neverSynced = "never-synced"
    case syncing
    case ok
    /// The sync finished, but some devices could not be read.
    case partial
    case error
}

/// What went wrong talking to Datto.
public enum DattoProblemKind: String, Codable, Sendable, CaseIterable {
    case unauthorized
    case forbidden
    case wrongRegion = "wrong-region"
    case notFound = "not-found"
    case rateLimited = "rate-limited"
    case serverError = "server-error"
    case timeout
    case unreachable
    case malformed
    case unexpectedStatus = "unexpected-status"
    case tooLarge = "too-large"
    /// The region given is not one Datto has (the Test button's own check).
    case invalidRegion = "invalid-region"
    /// A failure that is none of Datto's answers.
    case unexpected

    /// The key itself is refused: nothing is worth retrying until it is fixed.
    public var isCredentialProblem: Bool { self == .unauthorized || self == .forbidden }
}

/// An integration as the API and the CLI show it: everything but the secret, which is only ever "set".
public struct DattoIntegrationView: Codable, Sendable, Equatable {
    public struct Counts: Codable, Sendable, Equatable {
        public var devices: Int?
        public var agents: Int?
        public var runsObserved: Int?
        public var requests: Int?

        public init(devices: Int? = nil, agents: Int? = nil, runsObserved: Int? = nil, requests: Int? = nil) {
            self.devices = devices
            self.agents = agents
            self.runsObserved = runsObserved
            self.requests = requests
        }
    }

    public var tenant: String
    public var publicKey: String
    public var secretKeySet: Bool
    public var region: String
    public var isDefault: Bool
    public var status: DattoSyncStatus
    /// The id of the latest sync started (what `POST …/sync` returned), to tell when it has finished.
    public var lastSyncId: String?
    public var lastSyncStartedAt: Date?
    public var lastSyncAt: Date?
    public var lastError: String?
    public var counts: Counts
    /// "SaaS Protection: 2 domains, 6 applications watched", or "The key has no SaaS Protection scope".
    public var saasStatus: String?
    /// The sync under way (or the one that just finished, at 100%), as the collector last measured it; absent when
    /// this collector has not synced the integration since it started.
    public var progress: CollectorSyncProgress?

    public init(
        tenant: String, publicKey: String, secretKeySet: Bool, region: String, isDefault: Bool, status: DattoSyncStatus,
        lastSyncId: String?, lastSyncStartedAt: Date?, lastSyncAt: Date?, lastError: String?, counts: Counts, saasStatus: String? = nil,
        progress: CollectorSyncProgress? = nil
    ) {
        self.saasStatus = saasStatus
        self.progress = progress
        self.tenant = tenant
        self.publicKey = publicKey
        self.secretKeySet = secretKeySet
        self.region = region
        self.isDefault = isDefault
        self.status = status
        self.lastSyncId = lastSyncId
        self.lastSyncStartedAt = lastSyncStartedAt
        self.lastSyncAt = lastSyncAt
        self.lastError = lastError
        self.counts = counts
    }
}

/// `GET /v1/integrations/datto`.
public struct DattoIntegrationList: Codable, Sendable {
    public var integrations: [DattoIntegrationView]
    public init(integrations: [DattoIntegrationView]) { self.integrations = integrations }
}

/// The body of `PUT /v1/integrations/datto` (save) and `POST …/test` (test what is typed, or what is saved).
public struct DattoSettings: Codable, Sendable {
    public var tenant: String?
    public var publicKey: String?
    /// Write-only: required the first time, kept when left out afterwards.
    public var secretKey: String?
    /// `us` or `eu`.
    public var region: String?
    public var makeDefault: Bool?

    public init(
        tenant: String? = nil, publicKey: String? = nil, secretKey: String? = nil, region: String? = nil, makeDefault: Bool? = nil
    ) {
        self.tenant = tenant
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.region = region
        self.makeDefault = makeDefault
    }
}

/// The body of `POST /v1/integrations/datto/sync`.
public struct DattoSyncRequest: Codable, Sendable {
    public var tenant: String?
    public init(tenant: String? = nil) { self.tenant = tenant }
}

/// The answer of `POST /v1/integrations/datto/sync` (202).
public struct DattoSyncStarted: Codable, Sendable {
    public var tenant: String
    public var syncId: String
    public init(tenant: String, syncId: String) {
        self.tenant = tenant
        self.syncId = syncId
    }
}

/// The Test button's answer: the guide's line ("Connected to Datto (us) — N BCDR devices visible") or its error.
public struct ConnectionTestResult: Codable, Sendable, Equatable {
    public var ok: Bool
    public var message: String
    public var devices: Int?
    /// What went wrong (only when not ok).
    public var kind: DattoProblemKind?
    public var endpoint: String?

    public init(ok: Bool, message: String, devices: Int? = nil, kind: DattoProblemKind? = nil, endpoint: String? = nil) {
        self.ok = ok
        self.message = message
        self.devices = devices
        self.kind = kind
        self.endpoint = endpoint
    }
}
