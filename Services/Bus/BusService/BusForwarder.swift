import Foundation
import Logging
import Synchronization
import VectisBus
import VectisContracts
import ZeroMQ

/// The bus's own forwarding loop, in place of `zmq_proxy_steerable`, so every message can be checked before it
/// reaches anyone:
///
/// - publisher side (XSUB): exactly three frames, at most `maxMessageBytes` in all, and — when the bus runs
///   CURVE — a topic the sender's identity owns and a header stream of `<identity>/<instance>`
///   (`BusOwnership`). A sender breaking the frame or size rules is banned for a while and cut off (its key is
///   refused by the ZAP handler and the port is re-bound, which drops its connection; honest publishers
///   reconnect within a reconnect interval and replay covers what was in flight).
/// - subscriber side (XPUB): subscriptions longer than a real topic never get in (libzmq disconnects the
///   sender: `ZMQ_MAXMSGSIZE` on that port), and each identity may introduce a bounded number of topics.
///
/// Drops are counted per identity and reason (`vectis_bus_forward_dropped_total`) and logged once per
/// identity and reason. The loop runs on a thread with an 8 MiB stack: libzmq walks subscription tries
/// recursively on the thread that drives the socket.
final class BusForwarder {
    enum Violation: String, CaseIterable, Sendable {
        case frameCount = "frame_count"
        case oversized
        case invalidHeader = "invalid_header"
        case unknownTopic = "unknown_topic"
        case notOwner = "topic_not_owned"
        case foreignStream = "stream_not_own"
        case subscriptionLimit = "subscription_limit"
        case upstreamMessage = "upstream_message"

        /// Breaking these is never an honest mistake of a service built from this code: cut the sender off.
        var disconnects: Bool { self == .frameCount || self == .oversized || self == .subscriptionLimit }
    }

    let frontend: ZMQSocket
    let backend: ZMQSocket
    let capture: ZMQSocket
    let configuration: BusServerConfiguration
    let enforceOwnership: Bool
    let statistics: ForwarderStatistics
    let bans: BusBans
    let logger: Logger
    let shouldStop: () -> Bool
    let zapAlive: () -> Bool
    private let frames = [ZMQFrame(), ZMQFrame(), ZMQFrame()]
    private let copies = [ZMQFrame(), ZMQFrame(), ZMQFrame()]
    private let scratch = ZMQFrame()
    private var topicsByIdentity: [String: Set<String>] = [:]
    /// Topics someone taps (the tap port is an XPUB, so its subscriptions are visible): with none, no copy is made.
    private var tapTopics: Set<String> = []
    private var logged: Set<String> = []

    init(
        frontend: ZMQSocket, backend: ZMQSocket, capture: ZMQSocket, configuration: BusServerConfiguration,
        enforceOwnership: Bool, statistics: ForwarderStatistics, bans: BusBans, logger: Logger,
        shouldStop: @escaping () -> Bool, zapAlive: @escaping () -> Bool
    ) {
        self.frontend = frontend
        self.backend = backend
        self.capture = capture
        self.configuration = configuration
        self.enforceOwnership = enforceOwnership
        self.statistics = statistics
        self.bans = bans
        self.logger = logger
        self.shouldStop = shouldStop
        self.zapAlive = zapAlive
    }

    struct ZAPDied: Error, CustomStringConvertible {
        var description: String { "the ZAP handler stopped: the bus stops rather than admit peers unchecked" }
    }

    /// Forwards until `shouldStop` says so or the context is shut down.
    func run() throws {
        let items = [
            ZMQPoll.Item(socket: frontend, events: .readable), ZMQPoll.Item(socket: backend, events: .readable),
            ZMQPoll.Item(socket: capture, events: .readable)
        ]
        var turns = 0
        while !shouldStop() {
            var busy = false
            // Bounded turns per side, so a flood on one side cannot starve the other.
            for _ in 0..<512 {
                guard try forwardMessage() else { break }
                busy = true
            }
            for _ in 0..<64 {
                guard try forwardSubscription() else { break }
                busy = true
            }
            for _ in 0..<64 {
                guard try noteTapSubscription() else { break }
                busy = true
            }
            turns &+= 1
            if turns % 1_024 == 0 || !busy {
                if enforceOwnership, !zapAlive() { throw ZAPDied() }
            }
            if !busy { _ = try ZMQPoll.poll(items, timeoutMilliseconds: 100) }
        }
    }

    // MARK: Publisher side

    /// One message from a publisher: checked, then sent to subscribers and the tap. False when none was waiting.
    private func forwardMessage() throws -> Bool {
        guard try frames[0].receive(from: frontend, dontWait: true) else { return false }
        statistics.received.add(1, ordering: .relaxed)
        let identity = enforceOwnership ? (frames[0].property("User-Id") ?? "") : ""
        var count = 1
        var total = frames[0].count
        var more = frames[0].more
        while more {
            // Multipart delivery is atomic: once the first frame is here, the rest are.
            let frame = count < 3 ? frames[count] : scratch
            guard try frame.receive(from: frontend, dontWait: false) else { continue }
            count += 1
            total += frame.count
            more = frame.more
            if count > 3 { scratch.reset() }
        }
        if count != 3 { return refuse(.frameCount, identity: identity, topic: frames[0]) }
        if total > configuration.maxMessageBytes { return refuse(.oversized, identity: identity, topic: frames[0]) }
        if enforceOwnership, let violation = ownershipViolation(identity: identity) {
            return refuse(violation, identity: identity, topic: frames[0])
        }
        let tapped = !tapTopics.isEmpty
        if tapped { for index in 0..<3 { copies[index].copy(from: frames[index]) } }
        for index in 0..<3 { try frames[index].send(to: backend, more: index < 2) }
        // The tap's copy, only while someone taps: an XPUB never blocks, so a slow tap cannot stall the bus.
        if tapped { for index in 0..<3 { try copies[index].send(to: capture, more: index < 2) } }
        statistics.forwarded.add(1, ordering: .relaxed)
        statistics.forwardedBytes.add(total, ordering: .relaxed)
        return true
    }

    private func ownershipViolation(identity: String) -> Violation? {
        let topic = frames[0].withBytes { String(decoding: $0, as: UTF8.self) }
        if topic.hasPrefix(ProbeTopics.prefix) { return nil }
        // Only the plain header form this project writes: what passes here, every consumer reads the same way. A
        // bundle's every header is checked, not only its first.
        let bytes = frames[1].bytes
        if BusBundle.isBundle(headerFrame: bytes) {
            // Only the streams are read here (the rest of each header is the consumers' to check, strictly).
            guard let streams = MessageHeader.plainStreams(bundle: bytes, limit: BusLimits.maxBundleEvents) else {
                return .invalidHeader
            }
            var checked: String?
            for stream in streams where stream != checked {
                if let violation = ownershipViolation(identity: identity, topic: topic, stream: stream) { return violation }
                checked = stream
            }
            return nil
        }
        guard let header = MessageHeader(plainJSONBytes: bytes) else { return .invalidHeader }
        return ownershipViolation(identity: identity, topic: topic, stream: header.stream)
    }

    private func ownershipViolation(identity: String, topic: String, stream: String) -> Violation? {
        switch BusOwnership.refusal(identity: identity, topic: topic, stream: stream) {
        case nil: return nil
        case .unknownTopic: return .unknownTopic
        case .notOwner: return .notOwner
        case .foreignStream: return .foreignStream
        }
    }

    private func refuse(_ violation: Violation, identity: String, topic: ZMQFrame) -> Bool {
        let topicText = LogText.cut(topic.withBytes { String(decoding: $0.prefix(200), as: UTF8.self) })
        for frame in frames { frame.reset() }
        statistics.dropped(identity: identity, reason: violation)
        if logged.count < 256, logged.insert("\(identity)|\(violation.rawValue)").inserted {
            logger.warning(
                "bus dropped a message (further drops for this identity and reason are only counted)",
                metadata: [
                    "identity": "\(identity.isEmpty ? "(none)" : identity)", "reason": "\(violation.rawValue)",
                    "topic": "\(topicText)"
                ])
        }
        if violation.disconnects { cutOff(identity, side: .publishers) }
        return true
    }

    // MARK: Subscriber side

    /// One subscription change from a subscriber, passed on to the publishers when it is acceptable.
    private func forwardSubscription() throws -> Bool {
        guard try frames[0].receive(from: backend, dontWait: true) else { return false }
        var more = frames[0].more
        while more {
            guard try scratch.receive(from: backend, dontWait: false) else { continue }
            more = scratch.more
            scratch.reset()
        }
        let identity = enforceOwnership ? (frames[0].property("User-Id") ?? "") : ""
        let (kind, topic) = frames[0].withBytes { bytes -> (UInt8?, String) in
            (bytes.first, String(decoding: bytes.dropFirst(), as: UTF8.self))
        }
        switch kind {
        case 1 where topic.utf8.count > BusLimits.maxTopicBytes:
            // Longer than any real topic: never passed on, and its sender is cut off (which also empties the trie).
            return refuseSubscription(
                identity: identity, why: "a topic longer than any real one", detail: ["bytes": "\(topic.utf8.count)"])
        case 1:
            // XPUB reports a topic only when its first subscriber arrives: the identity that introduced it.
            var topics = topicsByIdentity[identity, default: []]
            if !topics.contains(topic) {
                guard topics.count < configuration.maxTopicsPerIdentity else {
                    return refuseSubscription(
                        identity: identity, why: "more topics than any service needs",
                        detail: ["limit": "\(configuration.maxTopicsPerIdentity)"])
                }
                topics.insert(topic)
                topicsByIdentity[identity] = topics
            }
        case 0:
            // ...and its unsubscription only when its last subscriber left: nobody holds it any more.
            for key in Array(topicsByIdentity.keys) { topicsByIdentity[key]?.remove(topic) }
        default:
            frames[0].reset()
            statistics.dropped(identity: identity, reason: .upstreamMessage)
            return true
        }
        try frames[0].send(to: frontend, more: false)
        return true
    }

    /// A tap subscribing or leaving. Only remembered (bounded), never passed on: taps read copies, not streams.
    private func noteTapSubscription() throws -> Bool {
        guard try scratch.receive(from: capture, dontWait: true) else { return false }
        var more = scratch.more
        let (kind, topic) = scratch.withBytes { bytes -> (UInt8?, String) in
            (bytes.first, String(decoding: bytes.dropFirst(), as: UTF8.self))
        }
        scratch.reset()
        while more {
            guard try scratch.receive(from: capture, dontWait: false) else { continue }
            more = scratch.more
            scratch.reset()
        }
        if kind == 1, tapTopics.count < configuration.maxTopicsPerIdentity { tapTopics.insert(topic) }
        if kind == 0 { tapTopics.remove(topic) }
        return true
    }

    /// A subscription the bus will not take: dropped, counted, logged once per identity and reason, and (with
    /// identities) its sender cut off.
    private func refuseSubscription(identity: String, why: String, detail: Logger.Metadata) -> Bool {
        frames[0].reset()
        statistics.dropped(identity: identity, reason: .subscriptionLimit)
        if logged.count < 256, logged.insert("\(identity)|\(why)").inserted {
            logger.warning(
                "a peer subscribed to \(why); cutting it off",
                metadata: detail.merging(["identity": "\(identity.isEmpty ? "(none)" : identity)"]) { $1 })
        }
        if enforceOwnership { cutOff(identity, side: .subscribers) }
        return true
    }

    // MARK: Cutting a peer off

    enum Side { case publishers, subscribers }

    /// Bans the identity at the ZAP handler, then re-binds the port: libzmq has no call to drop one peer of an
    /// XSUB/XPUB, but closing the listener drops its connections, and the ban keeps the offender out.
    private func cutOff(_ identity: String, side: Side) {
        guard !identity.isEmpty, bans.ban(identity, for: configuration.banDuration) else { return }
        statistics.disconnects.add(1, ordering: .relaxed)
        logger.error(
            "cut a peer off the bus", metadata: ["identity": "\(identity)", "banSeconds": "\(configuration.banDuration.components.seconds)"]
        )
        let socket = side == .publishers ? frontend : backend
        do {
            let endpoint = try socket.lastEndpoint
            try socket.unbind(endpoint)
            try socket.bind(endpoint)
            if side == .subscribers { topicsByIdentity[identity] = nil }
        } catch {
            logger.error("could not re-bind after cutting a peer off", metadata: ["error": "\(error)"])
        }
    }
}

/// Identities banned for a while (read by the ZAP handler's thread, written by the forwarder's).
final class BusBans: Sendable {
    private let until = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Bans `identity`; false when it already was.
    func ban(_ identity: String, for duration: Duration) -> Bool {
        until.withLock { until in
            if let current = until[identity], current > .now { return false }
            until[identity] = .now + duration
            return true
        }
    }

    func isBanned(_ identity: String) -> Bool {
        until.withLock { ($0[identity] ?? .now - .seconds(1)) > .now }
    }
}
