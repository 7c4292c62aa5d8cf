import Foundation
import VectisBus
import ZeroMQ

/// Reads the bus's tap port: every message any service publishes, and every subscription change.
public struct Tap {
    public struct Options: Sendable {
        public var tapEndpoint: String
        public var publishEndpoint: String
        public var subscribeEndpoint: String
        /// Show only messages whose topic starts with one of these (empty: all but the bus's own probes).
        public var topicPrefixes: [String]
        public var count: Int?
        public var style: TapFormatter.Style
        /// When the bus runs CURVE, the tap needs an allow-listed key like any service.
        public var curve: CurveClientKeys?

        public init(
            tapEndpoint: String, publishEndpoint: String, subscribeEndpoint: String, topicPrefixes: [String],
            count: Int?, style: TapFormatter.Style, curve: CurveClientKeys? = nil
        ) {
            self.curve = curve
            self.tapEndpoint = tapEndpoint
            self.publishEndpoint = publishEndpoint
            self.subscribeEndpoint = subscribeEndpoint
            self.topicPrefixes = topicPrefixes
            self.count = count
            self.style = style
        }
    }

    public let options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Whether a topic is shown. The bus's readiness probes are hidden unless asked for.
    public func shows(topic: String) -> Bool {
        if options.topicPrefixes.isEmpty { return !topic.hasPrefix(BusProbe.topicPrefix) }
        return options.topicPrefixes.contains { topic.hasPrefix($0) }
    }

    /// Runs on the calling thread until `count` messages were shown (or forever). `status` gets one-line
    /// notices for standard error; `output` gets the formatted lines.
    public func run(output: (String) -> Void, status: (String) -> Void) throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context: context, type: .sub)
        defer { socket.close() }
        try socket.applyCurve(options.curve)
        try socket.setLinger(milliseconds: 0)
        try socket.setReceiveHighWaterMark(1_000_000)
        try socket.subscribe("")
        try socket.connect(options.tapEndpoint)

        let formatter = TapFormatter(style: options.style)
        var shown = 0
        let target = options.count
        func handle(_ frames: [[UInt8]]) -> Bool {
            let events = eventCount(frames, formatter)
            if case .messages(let messages) = formatter.classify(frames), let first = messages.first, !shows(topic: first.topic) {
                return false
            }
            // Subscription frames and malformed messages have no topic to filter on; raw mode shows them all.
            if options.style != .raw, !options.topicPrefixes.isEmpty, events == 0 { return false }
            var lines = formatter.lines(frames)
            // `--count` counts events: a bundle straddling it is shown only up to it (raw mode shows frames whole).
            if let target, options.style != .raw, events > 0 { lines = Array(lines.prefix(max(target - shown, 0))) }
            for line in lines { output(line) }
            shown += options.style == .raw ? events : min(events, lines.count)
            return target.map { shown >= $0 } ?? false
        }

        let started = ContinuousClock.now
        var done = false
        if try probe(
            context: context, capture: socket,
            handle: { frames in
                if !done { done = handle(frames) }
            })
        {
            status("vectis tap: listening on \(options.tapEndpoint) (bus round trip \(ContinuousClock.now - started))")
        } else {
            status("vectis tap: no answer from the bus at \(options.publishEndpoint) yet; listening on \(options.tapEndpoint) anyway")
        }
        while !done {
            guard let frames = try socket.receiveMessage() else { continue }
            done = handle(frames)
        }
    }

    /// Events in a capture message: one, a bundle's count, or none (a subscription, a malformed message).
    private func eventCount(_ frames: [[UInt8]], _ formatter: TapFormatter) -> Int {
        if case .messages(let messages) = formatter.classify(frames) { return messages.count }
        return 0
    }

    /// Sends a probe through the bus until it shows up on the tap, so "listening" means the tap really sees traffic.
    private func probe(context: ZMQContext, capture: ZMQSocket, handle: ([[UInt8]]) -> Void) throws -> Bool {
        let sender = try ZMQSocket(context: context, type: .pub)
        let echo = try ZMQSocket(context: context, type: .sub)
        defer {
            sender.close()
            echo.close()
        }
        try sender.applyCurve(options.curve)
        try echo.applyCurve(options.curve)
        try sender.setLinger(milliseconds: 0)
        try echo.setLinger(milliseconds: 0)
        let topic = BusProbe.makeTopic()
        // The bus forwards a message only if someone subscribes to it, so subscribe to our own probe.
        try echo.subscribe(topic)
        try echo.connect(options.subscribeEndpoint)
        try sender.connect(options.publishEndpoint)
        return try BusProbe.roundTrip(
            sender: sender, receiver: capture, topic: topic, codec: BusFrameCodec(), timeout: .seconds(5),
            shouldStop: { false }, other: handle)
    }
}
