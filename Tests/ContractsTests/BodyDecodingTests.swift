import Foundation
import PropertyBased
import Testing
import VectisContracts

/// The hand-written readers of the hot bodies must read what `JSONDecoder` reads, with the same values, and give
/// way to it on anything else: a consumer cannot be made to see one message two ways.
@Suite("Hand-written body readers agree with JSONDecoder")
struct BodyDecodingTests {
    static let encoder = BusJSON.makeEncoder()
    static let decoder = BusJSON.makeDecoder()

    /// `bytes` changed at a place and in a way the numbers choose: a byte deleted, replaced or inserted (from bytes
    /// that matter to JSON), the end cut off, or a stretch repeated.
    static func mutate(_ bytes: [UInt8], _ a: Int64, _ b: Int64) -> [UInt8] {
        guard !bytes.isEmpty else { return bytes }
        let interesting = Array(#"{}[]",:\"0123456789-.eEnultrfa \#u{0}\#u{7f}"#.utf8) + [0xC3, 0xFF, 0x80]
        var bytes = bytes
        let at = Int(a.magnitude % UInt64(bytes.count))
        let pick = interesting[Int(b.magnitude % UInt64(interesting.count))]
        switch b.magnitude % 5 {
        case 0: bytes.remove(at: at)
        case 1: bytes[at] = pick
        case 2: bytes.insert(pick, at: at)
        case 3: bytes.removeSubrange(at...)
        default:
            let end = min(bytes.count, at + Int(a.magnitude % 40) + 1)
            bytes.insert(contentsOf: bytes[at..<end], at: end)
        }
        return bytes
    }

    /// Holds for any input: what the fast reader returns, `JSONDecoder` returns too; where it refuses, so does the reader.
    static func agree<E: BusEvent & BusJSONDecodable & Equatable>(_ type: E.Type, _ bytes: [UInt8]) {
        let fast = E(plainJSON: bytes)
        let slow = try? decoder.decode(E.self, from: Data(bytes))
        if let fast {
            #expect(
                slow == fast,
                "read as \(fast) by hand, as \(slow.map { "\($0)" } ?? "an error") by JSONDecoder: \(String(decoding: bytes, as: UTF8.self))"
            )
        }
    }

    @Test("backup.run.observed: every encoding of any value is read by hand, to the same value")
    func runObservedRoundTrip() async throws {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 12...12)) { n in
            let event = BodyEncodingTests.runObserved(n)
            let bytes = Array(try Self.encoder.encode(event))
            // Compared with what JSONDecoder reads: timestamps travel in milliseconds, so both may differ from `event`.
            let fast = try #require(BackupRunObserved(plainJSON: bytes), "not read by hand: \(String(decoding: bytes, as: UTF8.self))")
            #expect(fast == (try Self.decoder.decode(BackupRunObserved.self, from: Data(bytes))))
            #expect(fast.deviceSerial == event.deviceSerial && fast.customer == event.customer)
        }
    }

    @Test("backup.job.recorded: every encoding of any value is read by hand, to the same value")
    func jobRecordedRoundTrip() async throws {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 10...10)) { n in
            let event = BodyEncodingTests.jobRecorded(n)
            let bytes = Array(try Self.encoder.encode(event))
            // Compared with what JSONDecoder reads: timestamps travel in milliseconds, so both may differ from `event`.
            let fast = try #require(BackupJobRecorded(plainJSON: bytes), "not read by hand: \(String(decoding: bytes, as: UTF8.self))")
            #expect(fast == (try Self.decoder.decode(BackupJobRecorded.self, from: Data(bytes))))
            #expect(fast.deviceSerial == event.deviceSerial && fast.customer == event.customer)
        }
    }

    @Test("rule.fired: every encoding of any value is read by hand, to the same value, with or without the optional fields")
    func ruleFiredRoundTrip() async throws {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 12...12)) { n in
            let event = BodyEncodingTests.ruleFired(n)
            let bytes = Array(try Self.encoder.encode(event))
            let fast = try #require(RuleFired(plainJSON: bytes), "not read by hand: \(String(decoding: bytes, as: UTF8.self))")
            #expect(fast == event)
            #expect(fast == (try Self.decoder.decode(RuleFired.self, from: Data(bytes))))
        }
        // What JSONDecoder also reads: an optional field given as null, and fields in another order.
        let reordered =
            #"{"subject":{"deviceSerial":"S1","agentName":null,"customer":{"name":"Acme","key":"org:1"}},"dryRun":true,"#
            + #""templateId":"t","action":"not-mapped","ruleName":"r","ruleId":"ru_1","detail":null,"failedNightsInARow":2}"#
        let read = try #require(RuleFired(plainJSON: Array(reordered.utf8)))
        #expect(read == (try Self.decoder.decode(RuleFired.self, from: Data(reordered.utf8))))
        #expect(read.failedNightsInARow == 2 && read.detail == nil && read.subject.agentName == nil && read.action == .notMapped)
        // An action this build does not know, a count past Int, a missing dryRun: not read by hand; JSONDecoder decides.
        for text in [
            reordered.replacingOccurrences(of: "not-mapped", with: "page-someone"),
            reordered.replacingOccurrences(of: #""failedNightsInARow":2"#, with: #""failedNightsInARow":2.5"#),
            reordered.replacingOccurrences(of: #""dryRun":true,"#, with: "")
        ] {
            #expect(RuleFired(plainJSON: Array(text.utf8)) == nil, "\(text)")
            Self.agree(RuleFired.self, Array(text.utf8))
        }
    }

    @Test("damaged bodies: the reader never accepts what JSONDecoder refuses, nor reads a value differently")
    func damagedBodies() async throws {
        await propertyCheck(count: 2_000, input: Gen.int64().array(of: 14...14)) { n in
            let run = Array(try Self.encoder.encode(BodyEncodingTests.runObserved(Array(n[0..<12]))))
            Self.agree(BackupRunObserved.self, Self.mutate(run, n[12], n[13]))
            Self.agree(BackupRunObserved.self, Self.mutate(Self.mutate(run, n[12], n[13]), n[13], n[12]))
            let job = Array(try Self.encoder.encode(BodyEncodingTests.jobRecorded(Array(n[0..<10]))))
            Self.agree(BackupJobRecorded.self, Self.mutate(job, n[12], n[13]))
            Self.agree(BackupJobRecorded.self, Self.mutate(Self.mutate(job, n[12], n[13]), n[13], n[12]))
            let fired = Array(try Self.encoder.encode(BodyEncodingTests.ruleFired(Array(n[0..<12]))))
            Self.agree(RuleFired.self, Self.mutate(fired, n[12], n[13]))
            Self.agree(RuleFired.self, Self.mutate(Self.mutate(fired, n[12], n[13]), n[13], n[12]))
        }
    }

    @Test("what the reader hands to JSONDecoder: leading zeros, exponents, overflow, a key twice, an unknown key, a lone surrogate")
    func givesWay() throws {
        let base =
            #"{"agentName":"SRV","agentVolume":"v1","customer":{"key":"org:1","name":"Acme"},"deviceSerial":"S1","#
            + #""rawStatus":"success","runAt":"2026-11-30T01:00:00.000Z""#
        #expect(BackupRunObserved(plainJSON: Array((base + "}").utf8)) != nil, "the plain form is read by hand")
        let cases = [
            base + #","sizeBytes":01}"#, base + #","sizeBytes":1e3}"#, base + #","sizeBytes":1.0}"#,
            base + #","sizeBytes":99999999999999999999}"#, base + #","agentName":"again"}"#, base + #","extra":1}"#,
            base + #","errorMessage":"\ud800"}"#, base + #","kind":"tape"}"#, base + "} x", base + #","sizeBytes":-}"#
        ]
        for text in cases {
            #expect(BackupRunObserved(plainJSON: Array(text.utf8)) == nil, "\(text)")
            Self.agree(BackupRunObserved.self, Array(text.utf8))
        }
        // A header padded with thousands of unknown keys is not searched for repeats key by key (quadratic): the
        // plain reader gives up after 64 keys — the bus refuses such a header — and JSONDecoder still reads it.
        let padding = (0..<5_000).map { #""x\#($0)":1,"# }.joined()
        let header = MessageHeader(schemaVersion: 1, stream: "collector/a", seq: 1, timestamp: Date(timeIntervalSince1970: 0))
        let padded = Array(("{" + padding).utf8) + header.jsonBytes().dropFirst()
        #expect(MessageHeader(plainJSONBytes: padded) == nil)
        #expect(try MessageHeader(jsonBytes: padded) == header)
        #expect(MessageHeader(plainJSONBytes: header.jsonBytes()) == header)

        // Escapes and surrogate pairs are read by hand, as JSONDecoder reads them.
        let escaped = base + #","errorMessage":"C:\\Data \"full\" \u00e9 \ud83d\ude00\n\/"}"#
        let read = try #require(BackupRunObserved(plainJSON: Array(escaped.utf8)))
        #expect(read.errorMessage == "C:\\Data \"full\" é 😀\n/")
        #expect(read == (try Self.decoder.decode(BackupRunObserved.self, from: Data(escaped.utf8))))
    }
}
