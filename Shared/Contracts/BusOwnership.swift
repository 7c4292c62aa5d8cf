/// Who may publish what on the bus — the one table the bus enforces (`vectis-bus` checks every message's
/// CURVE identity against it) and docs/security.md lists.
///
/// An identity is the name the bus's allow-list gives a key: one per service, and `tap` for operators' taps
/// and the CLI. A service's messages must also carry a header `stream` of `<identity>/<instance>`, so no
/// service can speak for another's stream. Anyone admitted may send readiness probes (`bus.probe.*`).
public enum BusOwnership {
    /// The identities the allow-list may name.
    public static let collector = "collector"
    public static let assets = "assets"
    public static let backups = "backups"
    public static let alerts = "alerts"
    public static let rules = "rules"
    /// Taps and the operator CLI: may subscribe and send probes, nothing else.
    public static let tap = "tap"

    public static let services: [String] = [collector, assets, backups, alerts, rules]
    public static let identities: [String] = services + [tap]

    /// Base topic (without a shard bucket) → the identities that may publish it.
    public static let owners: [String: Set<String>] = {
        var table: [String: Set<String>] = [
            // The collector is the only one that speaks for Datto.
            DattoDeviceSeen.topic: [collector], DattoAgentSeen.topic: [collector], BackupRunObserved.topic: [collector],
            DattoDeviceAlerts.topic: [collector],
            CollectorSyncStarted.topic: [collector], CollectorSyncProgress.topic: [collector], CollectorSyncCompleted.topic: [collector],
            CollectorSyncFailed.topic: [collector], BackupRetryCompleted.topic: [collector],
            AssetDeviceChanged.topic: [assets], AssetAgentChanged.topic: [assets],
            BackupJobRecorded.topic: [backups], BackupConditionChanged.topic: [backups],
            AlertRaised.topic: [alerts], AlertUpdated.topic: [alerts], AlertResolved.topic: [alerts],
            RuleFired.topic: [rules], TicketOpened.topic: [rules], TicketNoted.topic: [rules],
            TicketClosed.topic: [rules], BackupRetryRequested.topic: [rules]
        ]
        // Every service heartbeats, asks for replays and answers them about its own stream.
        for topic in ControlTopics.all { table[topic] = Set(services) }
        return table
    }()

    /// Why `identity` may not publish a message with this topic and header stream, or nil when it may.
    public static func refusal(identity: String, topic: String, stream: String) -> Refusal? {
        if topic.hasPrefix(ProbeTopics.prefix) { return nil }
        guard let owners = owners[Shard.baseTopic(topic)] else { return .unknownTopic }
        guard owners.contains(identity) else { return .notOwner }
        guard stream.utf8.count > identity.utf8.count + 1, stream.hasPrefix(identity + "/") else { return .foreignStream }
        return nil
    }

    public enum Refusal: String, Sendable, CaseIterable {
        /// A topic no service publishes.
        case unknownTopic = "unknown_topic"
        /// A topic another service owns.
        case notOwner = "topic_not_owned"
        /// A header stream that is not `<identity>/<instance>`.
        case foreignStream = "stream_not_own"
    }
}

/// Readiness probes (see `BusProbe` in VectisBus): private topics that only prove a path through the bus.
public enum ProbeTopics {
    public static let prefix = "bus.probe."
}
