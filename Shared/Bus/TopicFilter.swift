/// What a subscriber wants: one exact topic, or every topic under a dot-terminated prefix.
///
/// libzmq filters by byte prefix, so a subscription to `backup.job` would also deliver `backup.jobs.x`.
/// Prefixes therefore must end with a dot, and exact topics are checked again after libzmq's prefix match.
public enum TopicFilter: Sendable, Hashable, CustomStringConvertible {
    case exact(String)
    /// Everything whose topic starts with this, which must end with "." (or be empty for everything).
    case prefix(String)

    public init(_ text: String) {
        if text.isEmpty || text.hasSuffix(".") {
            self = .prefix(text)
        } else {
            self = .exact(text)
        }
    }

    /// The bytes handed to `ZMQ_SUBSCRIBE`.
    public var zmqPrefix: String {
        switch self {
        case .exact(let topic): topic
        case .prefix(let prefix): prefix
        }
    }

    /// An exact topic also matches its shard-bucketed form (`backup.run.observed@17`); a bucketed filter matches
    /// only its bucket.
    public func matches(_ topic: String) -> Bool {
        switch self {
        case .exact(let expected):
            topic == expected || (topic.hasPrefix(expected) && topic.dropFirst(expected.count).first == "@" && !expected.contains("@"))
        case .prefix(let prefix): topic.hasPrefix(prefix)
        }
    }

    public var description: String {
        switch self {
        case .exact(let topic): topic
        case .prefix(let prefix): prefix.isEmpty ? "*" : prefix + "*"
        }
    }
}
