import Foundation
import Testing
import VectisBus
import VectisContracts
import VectisTestSupport

/// Several events in one bus message: what a relay makes of its rows, and what a receiver takes (whole or not at all).
@Suite("Bundles of events in one bus message")
struct BusBundleTests {
    static let topic = "backup.job.recorded@00"
    let codec = BusFrameCodec()

    static func header(_ seq: UInt64, stream: String = "backups/1", schemaVersion: Int = 1) -> [UInt8] {
        MessageHeader(
            schemaVersion: schemaVersion, stream: stream, seq: seq, timestamp: Date(timeIntervalSince1970: 1_790_000_000),
            customerKey: "org:\(seq)", epoch: "e1"
        ).jsonBytes()
    }

    static func body(_ id: Int64) throws -> [UInt8] {
        Array(try BusJSON.makeEncoder().encode(BackupJobRecorded.sample(id)))
    }

    static func items(_ seqs: [UInt64], topic: String = topic, stream: String = "backups/1") throws -> [BusBundle.Item] {
        try seqs.map { BusBundle.Item(topic: topic, seq: $0, header: header($0, stream: stream), body: try body(Int64($0))) }
    }

    /// A bundle's frames written by hand, for shapes the relay never makes.
    static func frames(headers: [[UInt8]], bodies: [[UInt8]], topic: String = topic) -> [[UInt8]] {
        func array(_ elements: [[UInt8]]) -> [UInt8] {
            Array("[".utf8) + Array(elements.joined(separator: Array(",".utf8))) + Array("]".utf8)
        }
        return [Array(topic.utf8), array(headers), array(bodies)]
    }

    @Test("a relay's rows go as bundles of consecutive seqs of one topic, and come out as the same events in order")
    func roundTrip() throws {
        let other = "alert.raised@00"
        var items = try Self.items(Array(1...40))
        items += try Self.items([1, 2], topic: other)  // another topic: a bundle of its own
        items += try Self.items([41, 43])  // a seq jump: not joined
        let messages = BusBundle.messages(items, maxEvents: 16, maxBytes: 1 << 20)
        #expect(messages.map(\.events) == [16, 16, 8, 2, 1, 1])
        #expect(messages.reduce(0) { $0 + $1.events } == items.count)
        var decoded: [BusMessage] = []
        for message in messages {
            guard case .success(let some) = codec.decodeMessages(frames: message.frames) else {
                Issue.record("a relay's message was refused")
                return
            }
            #expect(some.count == message.events)
            decoded += some
        }
        #expect(decoded.map(\.topic) == items.map(\.topic))
        #expect(decoded.map(\.header.seq) == items.map(\.seq))
        #expect(decoded.map(\.header.customerKey) == items.map { "org:\($0.seq)" })
        #expect(decoded.map(\.body) == items.map(\.body), "each body is exactly the bytes the row holds")
        for message in decoded.prefix(3) {
            guard case .success(let event as BackupJobRecorded) = codec.decodeEvent(message) else {
                Issue.record("a bundled body did not decode")
                return
            }
            #expect(UInt64(event.jobId) == message.header.seq)
        }
        // One event alone travels as a single message, exactly as before bundles.
        #expect(!BusBundle.isBundle(headerFrame: messages[4].frames[1]))
        #expect(BusBundle.isBundle(headerFrame: messages[0].frames[1]))
    }

    @Test("a bundle stays under its byte limit and the bus's; an event larger than the limit goes alone; 1 event turns bundling off")
    func limits() throws {
        let items = try Self.items(Array(1...64))
        let rowBytes = items[0].header.count + items[0].body.count
        for limit in [4 * rowBytes, 1_000, BusBundle.maxBytes] {
            for message in BusBundle.messages(items, maxEvents: 256, maxBytes: limit) where message.events > 1 {
                #expect(message.frames.reduce(0) { $0 + $1.count } <= limit)
            }
        }
        // A limit below one row: every event alone, none lost.
        let tiny = BusBundle.messages(items, maxEvents: 16, maxBytes: rowBytes / 2)
        #expect(tiny.count == 64 && tiny.allSatisfy { $0.events == 1 })
        #expect(BusBundle.messages(items, maxEvents: 1, maxBytes: BusBundle.maxBytes).count == 64)
    }

    @Test("a bundle with mixed streams, seqs that do not follow, a control seq, or bodies not matching its headers is refused whole")
    func inconsistentBundles() throws {
        let body = try Self.body(1)
        let cases: [(String, [[UInt8]], [[UInt8]])] = [
            ("a second stream", [Self.header(1), Self.header(2, stream: "collector/1")], [body, body]),
            ("a repeated seq", [Self.header(1), Self.header(1)], [body, body]),
            ("a seq jump", [Self.header(1), Self.header(3)], [body, body]),
            ("seqs going back", [Self.header(2), Self.header(1)], [body, body]),
            ("a control message's seq 0", [Self.header(0), Self.header(1)], [body, body]),
            ("fewer bodies", [Self.header(1), Self.header(2)], [body]),
            ("more bodies", [Self.header(1), Self.header(2)], [body, body, body]),
            ("a body that is not JSON", [Self.header(1), Self.header(2)], [body, Array("{\"a\":".utf8)])
        ]
        for (what, headers, bodies) in cases {
            guard case .failure(let reason) = codec.decodeMessages(frames: Self.frames(headers: headers, bodies: bodies)) else {
                Issue.record("a bundle with \(what) was accepted")
                continue
            }
            #expect(reason == .invalidBundle, "\(what): \(reason)")
        }
        // Garbage after either array, and an array of bodies that is not an array.
        var frames = Self.frames(headers: [Self.header(1), Self.header(2)], bodies: [body, body])
        frames[2] += Array("{}".utf8)
        #expect(failure(frames) == .invalidBundle)
        frames = Self.frames(headers: [Self.header(1), Self.header(2)], bodies: [body, body])
        frames[1] += Array(" x".utf8)
        #expect(failure(frames) == .invalidHeader)
        frames[1] = Self.frames(headers: [Self.header(1)], bodies: [])[1]
        frames[2] = body
        #expect(failure(frames) == .invalidBundle)
    }

    @Test("an empty bundle, 257 headers, a header past Int64.max or from a newer schema, and an oversized bundle are refused")
    func hostileBundles() throws {
        let body = try Self.body(1)
        #expect(failure(Self.frames(headers: [], bodies: [])) == .invalidHeader)
        let many = (1...UInt64(BusLimits.maxBundleEvents + 1)).map { Self.header($0) }
        #expect(failure(Self.frames(headers: many, bodies: Array(repeating: Array("{}".utf8), count: many.count))) == .invalidHeader)
        // 256 is the most, and taken.
        let most = Array(many.prefix(BusLimits.maxBundleEvents))
        guard
            case .success(let taken) = codec.decodeMessages(
                frames: Self.frames(headers: most, bodies: Array(repeating: body, count: most.count)))
        else {
            Issue.record("a bundle of 256 was refused")
            return
        }
        #expect(taken.count == 256)
        // Int64.max then one more: the second header is invalid (a seq no SQLite row can hold); nothing overflows.
        let last = BusLimits.maxSeq
        #expect(failure(Self.frames(headers: [Self.header(last), Self.header(last &+ 1)], bodies: [body, body])) == .invalidHeader)
        #expect(failure(Self.frames(headers: [Self.header(UInt64.max)], bodies: [body])) == .invalidHeader)
        #expect(
            failure(Self.frames(headers: [Self.header(1), Self.header(2, schemaVersion: 99)], bodies: [body, body])) == .unknownVersion)
        let small = BusFrameCodec(maxMessageBytes: 1_000)
        guard
            case .failure(.oversized) = small.decodeMessages(frames: Self.frames(headers: most, bodies: Array(repeating: body, count: 256)))
        else {
            Issue.record("an oversized bundle was accepted")
            return
        }
        // A header array holding something else than headers.
        #expect(failure([Array(Self.topic.utf8), Array("[1,2]".utf8), Array("[{},{}]".utf8)]) == .invalidHeader)
        #expect(failure([Array(Self.topic.utf8), Array("[[[[[[".utf8), Array("[]".utf8)]) == .invalidHeader)
    }

    @Test("the bus reads a bundle's streams as consumers read its headers: escapes alike, a stream given twice refused by both")
    func streamsAsConsumersReadThem() {
        let base = String(decoding: Self.header(1), as: UTF8.self)
        let escaped = base.replacingOccurrences(of: "\"backups/1\"", with: #""backups\/1""#)
        let twice = base.replacingOccurrences(of: "{", with: #"{"stream":"rules/1","#)
        let missing = base.replacingOccurrences(of: #""stream":"backups/1","#, with: "")
        func both(_ header: String) -> ([String]?, [String]?) {
            let bytes = Array("[\(header)]".utf8)
            return (
                MessageHeader.plainHeaders(bundle: bytes, limit: 8)?.map(\.stream), MessageHeader.plainStreams(bundle: bytes, limit: 8)
            )
        }
        #expect(escaped != base && twice != base && missing != base)
        #expect(both(escaped).0 == ["backups/1"] && both(escaped).1 == ["backups/1"])
        #expect(both(twice).0 == nil && both(twice).1 == nil)
        #expect(both(missing).0 == nil && both(missing).1 == nil)
        #expect(MessageHeader.plainStreams(bundle: Array("[\(base),\(base)]".utf8), limit: 1) == nil, "no more than the limit")
    }

    @Test("5,000 damaged bundles: no crash, each taken whole and consistent, or refused with a reason")
    func fuzz() throws {
        var random = SplitMix64(state: 0xB0D1E)
        let valid = BusBundle.messages(try Self.items(Array(1...8)), maxEvents: 8, maxBytes: BusBundle.maxBytes)[0].frames
        var taken = 0
        var refused = 0
        for _ in 0..<5_000 {
            var frames = valid
            let frame = 1 + Int(random.next() % 2)
            switch random.next() % 3 {
            case 0:
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    frames[frame][Int(random.next() % UInt64(frames[frame].count))] = UInt8.random(in: 0...255, using: &random)
                }
            case 1:
                frames[frame] = Array(frames[frame].prefix(Int(random.next() % UInt64(frames[frame].count + 1))))
            default:
                let at = Int(random.next() % UInt64(frames[frame].count))
                frames[frame].insert(contentsOf: Array(",[]{}\"\\".utf8).shuffled(using: &random).prefix(3), at: at)
            }
            // What the bus reads of the headers (only the streams) agrees with what consumers read whole.
            if let headers = MessageHeader.plainHeaders(bundle: frames[1], limit: BusLimits.maxBundleEvents) {
                #expect(MessageHeader.plainStreams(bundle: frames[1], limit: BusLimits.maxBundleEvents) == headers.map(\.stream))
            }
            switch codec.decodeMessages(frames: frames) {
            case .success(let messages):
                taken += 1
                #expect(BusBundle.isConsistent(messages.map(\.header)))
                #expect(Set(messages.map(\.header.stream)) == ["backups/1"])
            case .failure:
                refused += 1
            }
        }
        #expect(taken + refused == 5_000)
        #expect(refused > 0)
    }

    private func failure(_ frames: [[UInt8]]) -> DropReason? {
        if case .failure(let reason) = codec.decodeMessages(frames: frames) { return reason }
        return nil
    }
}
