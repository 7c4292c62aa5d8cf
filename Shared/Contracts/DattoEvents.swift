import Foundation

/// A BCDR appliance as the collector saw it in one poll (`GET /v1/bcdr/device`).
public struct DattoDeviceSeen: BusEvent, Equatable {
    public static let topic = "datto.device.seen"

    public var serialNumber: String
    public var name: String
    public var model: String?
    public var customer: CustomerRef
    public var lastSeenAt: Date?
    public var hidden: Bool
    public var localStorageUsedBytes: Int64?
    public var localStorageAvailableBytes: Int64?
    public var offsiteStorageUsedBytes: Int64?
    public var remoteWebURL: String?
    public var internalIP: String?
    public var agentCount: Int?
    public var shareCount: Int?
    public var alertCount: Int?
    public var servicePlan: String?
    /// The volume ids Datto listed on this device in this poll, so owners can mark the missing ones removed.
    public var assetVolumes: [String]?
    /// When the collector read it (by Datto's time): what was true then, however late the event is applied.
    public var observedAt: Date?

    public init(
        serialNumber: String, name: String, model: String? = nil, customer: CustomerRef, lastSeenAt: Date? = nil,
        hidden: Bool = false, localStorageUsedBytes: Int64? = nil, localStorageAvailableBytes: Int64? = nil,
        offsiteStorageUsedBytes: Int64? = nil, remoteWebURL: String? = nil, internalIP: String? = nil,
        agentCount: Int? = nil, shareCount: Int? = nil, alertCount: Int? = nil, servicePlan: String? = nil,
        assetVolumes: [String]? = nil, observedAt: Date? = nil
    ) {
        self.observedAt = observedAt
        self.serialNumber = serialNumber
        self.name = name
        self.model = model
        self.customer = customer
        self.lastSeenAt = lastSeenAt
        self.hidden = hidden
        self.localStorageUsedBytes = localStorageUsedBytes
        self.localStorageAvailableBytes = localStorageAvailableBytes
        self.offsiteStorageUsedBytes = offsiteStorageUsedBytes
        self.remoteWebURL = remoteWebURL
        self.internalIP = internalIP
        self.agentCount = agentCount
        self.shareCount = shareCount
        self.alertCount = alertCount
        self.servicePlan = servicePlan
        self.assetVolumes = assetVolumes
    }
}

/// A protected agent or share on a device (`GET /v1/bcdr/device/{serial}/asset`), seen before or after any backup.
public struct DattoAgentSeen: BusEvent, Equatable {
    public static let topic = "datto.agent.seen"

    /// `saas`: a SaaS Protection application (Exchange, OneDrive…) of a Microsoft 365 or Google Workspace domain,
    /// which stands where a device would (serial `saas-<saasCustomerId>`).
    /// `endpoint`: an Endpoint Backup (Direct-to-Cloud) agent, under its organization's stand-in device
    /// (serial `dtc-<organizationId>`).
    public enum Kind: String, Codable, Sendable, CaseIterable { case agent, share, saas, endpoint }

    public var deviceSerial: String
    public var customer: CustomerRef
    public var volume: String
    public var name: String
    public var kind: Kind
    public var os: String?
    public var ipAddress: String?
    public var fqdn: String?
    public var agentVersion: String?
    public var isPaused: Bool
    public var isArchived: Bool
    public var lastSnapshotAt: Date?
    public var latestOffsiteAt: Date?
    public var lastScreenshotAttemptAt: Date?
    public var lastScreenshotSucceeded: Bool?
    /// When the collector read it (by Datto's time): what was true then, however late the event is applied.
    public var observedAt: Date?

    public init(
        deviceSerial: String, customer: CustomerRef, volume: String, name: String, kind: Kind = .agent,
        os: String? = nil, ipAddress: String? = nil, fqdn: String? = nil, agentVersion: String? = nil,
        isPaused: Bool = false, isArchived: Bool = false, lastSnapshotAt: Date? = nil, latestOffsiteAt: Date? = nil,
        lastScreenshotAttemptAt: Date? = nil, lastScreenshotSucceeded: Bool? = nil, observedAt: Date? = nil
    ) {
        self.observedAt = observedAt
        self.deviceSerial = deviceSerial
        self.customer = customer
        self.volume = volume
        self.name = name
        self.kind = kind
        self.os = os
        self.ipAddress = ipAddress
        self.fqdn = fqdn
        self.agentVersion = agentVersion
        self.isPaused = isPaused
        self.isArchived = isArchived
        self.lastSnapshotAt = lastSnapshotAt
        self.latestOffsiteAt = latestOffsiteAt
        self.lastScreenshotAttemptAt = lastScreenshotAttemptAt
        self.lastScreenshotSucceeded = lastScreenshotSucceeded
    }
}

/// Verification results Datto reports beside a backup run.
public struct BackupVerification: Codable, Sendable, Equatable {
    public struct Problem: Codable, Sendable, Equatable {
        public var type: String?
        public var message: String?
        public init(type: String?, message: String?) {
            self.type = type
            self.message = message
        }
    }

    public var localStatus: String?
    public var localErrors: [Problem]
    public var screenshotStatus: String?
    public var screenshotImageURL: String?

    public init(
        localStatus: String? = nil, localErrors: [Problem] = [], screenshotStatus: String? = nil,
        screenshotImageURL: String? = nil
    ) {
        self.localStatus = localStatus
        self.localErrors = localErrors
        self.screenshotStatus = screenshotStatus
        self.screenshotImageURL = screenshotImageURL
    }
}

/// One entry of an asset's `backups[]` as the collector saw it. Re-polls repeat it; the natural key
/// (tenant, deviceSerial, agentVolume, runAt) makes that harmless.
public struct BackupRunObserved: BusEvent, Equatable {
    public static let topic = "backup.run.observed"

    public var deviceSerial: String
    public var agentVolume: String
    public var agentName: String
    public var customer: CustomerRef
    public var runAt: Date
    /// Datto's own status string; only `"success"` is a confirmed value, anything else counts as a failure.
    public var rawStatus: String
    public var errorMessage: String?
    /// Only when Datto reports one; never estimated.
    public var sizeBytes: Int64?
    public var verification: BackupVerification?
    /// What backed up: a BCDR agent or share, a SaaS Protection application, an Endpoint Backup agent (absent from
    /// a collector older than this field: the agent's kind as announced).
    public var kind: DattoAgentSeen.Kind?

    public var succeeded: Bool { rawStatus.lowercased() == "success" }

    public init(
        deviceSerial: String, agentVolume: String, agentName: String, customer: CustomerRef, runAt: Date,
        rawStatus: String, errorMessage: String? = nil, sizeBytes: Int64? = nil, verification: BackupVerification? = nil,
        kind: DattoAgentSeen.Kind? = nil
    ) {
        self.deviceSerial = deviceSerial
        self.agentVolume = agentVolume
        self.agentName = agentName
        self.customer = customer
        self.runAt = runAt
        self.rawStatus = rawStatus
        self.errorMessage = errorMessage
        self.sizeBytes = sizeBytes
        self.verification = verification
        self.kind = kind
    }
}

/// Datto's own alerts on an appliance, as the collector last read them (`GET /v1/bcdr/device/{serial}/alert`).
/// Always the whole list: an alert Datto no longer lists is cleared (Datto's alerts carry no id and no cleared
/// flag). An empty list when the device's `alertCount` fell to 0 (known without a request).
public struct DattoDeviceAlerts: BusEvent, Equatable {
    public static let topic = "datto.device.alerts"

    public struct Alert: Codable, Sendable, Equatable, Hashable {
        /// Datto's words, e.g. "Device Not Seen Alert".
        public var type: String
        public var threshold: Int64?
        /// "Minutes", "Hours", "Percent"…
        public var unit: String?
        public var triggeredAt: Date?

        public init(type: String, threshold: Int64? = nil, unit: String? = nil, triggeredAt: Date? = nil) {
            self.type = type
            self.threshold = threshold
            self.unit = unit
            self.triggeredAt = triggeredAt
        }
    }

    public var serialNumber: String
    public var deviceName: String
    public var customer: CustomerRef
    public var alerts: [Alert]
    public var observedAt: Date?

    public init(serialNumber: String, deviceName: String, customer: CustomerRef, alerts: [Alert], observedAt: Date? = nil) {
        self.serialNumber = serialNumber
        self.deviceName = deviceName
        self.customer = customer
        self.alerts = alerts
        self.observedAt = observedAt
    }
}

extension DattoDeviceAlerts: ValidatedBusEvent {
    /// At most 500 alerts (the collector reads five pages of 100), each with a type of at most 200 bytes.
    public var validationProblem: String? {
        if alerts.count > 500 { return "more than 500 alerts" }
        if alerts.contains(where: { $0.type.isEmpty || $0.type.utf8.count > 200 || ($0.unit?.utf8.count ?? 0) > 40 }) {
            return "an alert type empty or over 200 bytes, or a unit over 40"
        }
        return nil
    }
}
