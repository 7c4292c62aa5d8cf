import Foundation
import VectisContracts

// The alerts service's HTTP shapes (`docs/openapi/alerts.json`).

/// An alert as the feed shows it.
public struct AlertView: Codable, Sendable, Equatable {
    public var id: String
    public var tenant: String
    /// `backup-job-failure`, `backup-missed`, `device-offline`, `offsite-stale`.
    public var type: String
    public var severity: AlertSeverity
    public var state: AlertState
    public var customerId: String
    public var customerName: String
    /// What the alert is about: the agent (`a_…`), or the appliance (`d_…`) for `device-offline`.
    public var subjectId: String
    /// Absent for an appliance-wide alert.
    public var agentId: String?
    public var agentName: String?
    public var deviceSerial: String
    public var deviceName: String?
    public var occurrences: Int
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    public var lastError: String?
    public var failedNightsInARow: Int?
    /// Silent failures: when the clock started (last success, last check-in, latest offsite point) and the days it has lasted.
    public var since: Date?
    public var days: Int?
    public var acknowledgedAt: Date?
    public var acknowledgedBy: String?
    public var resolvedAt: Date?
    public var resolvedReason: String?
    public var resolvedBy: String?
    /// What the rules engine had to say, e.g. that no ticket could be opened for lack of a PSA mapping.
    public var note: String?

    public init(
        id: String, tenant: String, type: String, severity: AlertSeverity, state: AlertState, customerId: String,
        customerName: String, subjectId: String, agentId: String?, agentName: String?, deviceSerial: String, deviceName: String?,
        occurrences: Int, firstSeenAt: Date, lastSeenAt: Date, lastError: String?, failedNightsInARow: Int?, since: Date?,
        days: Int?, acknowledgedAt: Date?, acknowledgedBy: String?, resolvedAt: Date?, resolvedReason: String?, resolvedBy: String?,
        note: String?
    ) {
        self.id = id
        self.tenant = tenant
        self.type = type
        self.severity = severity
        self.state = state
        self.customerId = customerId
        self.customerName = customerName
        self.subjectId = subjectId
        self.agentId = agentId
        self.agentName = agentName
        self.deviceSerial = deviceSerial
        self.deviceName = deviceName
        self.occurrences = occurrences
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.lastError = lastError
        self.failedNightsInARow = failedNightsInARow
        self.since = since
        self.days = days
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.resolvedAt = resolvedAt
        self.resolvedReason = resolvedReason
        self.resolvedBy = resolvedBy
        self.note = note
    }
}

/// `GET /v1/alerts`: newest first.
public struct AlertPage: Codable, Sendable {
    public var alerts: [AlertView]
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    public var nextCursor: String?

    public init(alerts: [AlertView], nextCursor: String?) {
        self.alerts = alerts
        self.nextCursor = nextCursor
    }
}

/// The optional body of `POST /v1/alerts/{id}/acknowledge` and `…/resolve`: who did it.
public struct AlertActor: Codable, Sendable {
    public var by: String?
    public init(by: String?) { self.by = by }
}

/// What a mute covers.
public enum MuteScope: String, Codable, Sendable, CaseIterable {
    case agent
    case customer
}

/// The body of `POST /v1/mutes`.
public struct MuteRequest: Codable, Sendable {
    /// `agent` (with `agentId`) or `customer` (with `customerId`); guessed from which id is given when absent.
    public var scope: String?
    public var agentId: String?
    public var customerId: String?
    /// ISO-8601; in the future and at most 90 days away (a mute never lasts forever).
    public var until: String?
    public var reason: String?
    public var by: String?

    public init(
        scope: String? = nil, agentId: String? = nil, customerId: String? = nil, until: String?, reason: String? = nil, by: String? = nil
    ) {
        self.scope = scope
        self.agentId = agentId
        self.customerId = customerId
        self.until = until
        self.reason = reason
        self.by = by
    }
}

/// The answer of `POST /v1/mutes`.
public struct MuteCreated: Codable, Sendable {
    public var id: String
    public var scope: MuteScope
    public var targetId: String
    public var until: Date

    public init(id: String, scope: MuteScope, targetId: String, until: Date) {
        self.id = id
        self.scope = scope
        self.targetId = targetId
        self.until = until
    }
}

/// `GET /v1/alert-counts`: alerts not resolved (open, acknowledged or muted), counted by type, severity and state.
public struct AlertCounts: Codable, Sendable, Equatable {
    public var unresolved: Int
    public var byType: [String: Int]
    public var bySeverity: [String: Int]
    public var byState: [String: Int]

    public init(unresolved: Int, byType: [String: Int], bySeverity: [String: Int], byState: [String: Int]) {
        self.unresolved = unresolved
        self.byType = byType
        self.bySeverity = bySeverity
        self.byState = byState
    }
}
