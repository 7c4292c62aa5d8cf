import Foundation

/// One kind of message on the bus: a Codable body published under a fixed topic.
///
/// Topics are dot-separated and lowercase; facts are past tense (`backup.job.recorded`), commands imperative
/// (`backup.retry.requested`). `schemaVersion` goes up when a change would break older readers; adding an
/// optional field does not need a new version because readers ignore fields they do not know.
public protocol BusEvent: Codable, Sendable {
    static var topic: String { get }
    static var schemaVersion: Int { get }
}

extension BusEvent {
    public static var schemaVersion: Int { 1 }
}

/// Every event type, by topic: what a subscriber can decode and which schema version it understands.
public enum EventCatalog {
    public static let all: [any BusEvent.Type] = [
        DattoDeviceSeen.self, DattoAgentSeen.self, BackupRunObserved.self, DattoDeviceAlerts.self,
        CollectorSyncStarted.self, CollectorSyncProgress.self, CollectorSyncCompleted.self, CollectorSyncFailed.self,
        AssetDeviceChanged.self, AssetAgentChanged.self,
        BackupJobRecorded.self, BackupConditionChanged.self,
        AlertRaised.self, AlertUpdated.self, AlertResolved.self,
        RuleFired.self, TicketOpened.self, TicketNoted.self, TicketClosed.self,
        BackupRetryRequested.self, BackupRetryCompleted.self,
        BusReplayRequested.self, BusReplayUnavailable.self, ServiceHeartbeat.self
    ]

    public static let byTopic: [String: any BusEvent.Type] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.topic, $0) }
    )
}
