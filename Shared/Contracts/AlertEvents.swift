import Foundation

public enum AlertSeverity: String, Codable, Sendable, CaseIterable { case high, medium, low }
public enum AlertState: String, Codable, Sendable, CaseIterable { case open, acknowledged, muted, resolved }

/// What an alert is about: an agent on a device of a customer.
public struct AlertSubject: Codable, Sendable, Equatable, Hashable {
    public var customer: CustomerRef
    public var deviceSerial: String
    public var agentVolume: String?
    public var agentName: String?

    public init(customer: CustomerRef, deviceSerial: String, agentVolume: String? = nil, agentName: String? = nil) {
        self.customer = customer
        self.deviceSerial = deviceSerial
        self.agentVolume = agentVolume
        self.agentName = agentName
    }
}

/// The alert as it stands after a change.
public struct AlertSnapshot: Codable, Sendable, Equatable {
    public var alertId: String
    /// `backup-job-failure`, …
    public var type: String
    public var severity: AlertSeverity
    public var state: AlertState
    public var subject: AlertSubject
    public var occurrences: Int
    public var firstSeenAt: Date
    public var lastSeenAt: Date
    public var lastError: String?
    public var failedNightsInARow: Int?

    public init(
        alertId: String, type: String, severity: AlertSeverity, state: AlertState, subject: AlertSubject,
        occurrences: Int, firstSeenAt: Date, lastSeenAt: Date, lastError: String? = nil, failedNightsInARow: Int? = nil
    ) {
        self.alertId = alertId
        self.type = type
        self.severity = severity
        self.state = state
        self.subject = subject
        self.occurrences = occurrences
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.lastError = lastError
        self.failedNightsInARow = failedNightsInARow
    }
}

public struct AlertRaised: BusEvent, Equatable {
    public static let topic = "alert.raised"
    public var alert: AlertSnapshot
    public init(alert: AlertSnapshot) { self.alert = alert }
}

/// Another occurrence, an acknowledgement or a mute changed an open alert.
public struct AlertUpdated: BusEvent, Equatable {
    public static let topic = "alert.updated"
    public var alert: AlertSnapshot
    /// Why it changed.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// Seen again (another failed night, another day of a silent failure).
        case occurrence
        case acknowledged
        case muted
        /// A mute ended and the problem was seen again.
        case unmuted
    }

    public var reason: Reason
    public init(alert: AlertSnapshot, reason: Reason) {
        self.alert = alert
        self.reason = reason
    }
}

public struct AlertResolved: BusEvent, Equatable {
    public static let topic = "alert.resolved"
    public var alert: AlertSnapshot
    /// `recovered` (a successful run) or `manual`.
    public var reason: String
    public var resolvedAt: Date
    public init(alert: AlertSnapshot, reason: String, resolvedAt: Date) {
        self.alert = alert
        self.reason = reason
        self.resolvedAt = resolvedAt
    }
}
