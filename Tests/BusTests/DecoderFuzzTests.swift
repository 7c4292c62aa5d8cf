import Foundation
import Testing
import VectisBus
import VectisContracts
import VectisTestSupport

/// Bounded fuzzing of everything that reads bytes off the bus: random frames, and valid messages with
/// random damage. Nothing may crash; every input is either accepted or dropped with a reason.
@Suite("Fuzzing the bus decoder")
struct DecoderFuzzTests {
    typealias Generator = SplitMix64

    func validFrames(_ codec: BusFrameCodec) throws -> [[UInt8]] {
        try codec.encode(
            BackupJobRecorded(
                jobId: 7, deviceSerial: "A1B2", agentVolume: "v", agentName: "n", customer: CustomerRef(key: "org:1", name: "Acme"),
                runAt: Date(timeIntervalSince1970: 1_790_000_000), status: .failure, rawStatus: "failure", errorMessage: "x",
                night: "2026-09-21", failedNightsInARow: 2),
            header: MessageHeader(schemaVersion: 1, stream: "fuzz/1", seq: 1, timestamp: Date(timeIntervalSince1970: 1_790_000_000)))
    }

    @Test("20,000 random and damaged messages: no crash, each accepted or dropped with a reason")
    func fuzz() throws {
        var random = Generator(state: 0x5EED)
        let codec = BusFrameCodec(maxMessageBytes: 64 * 1024)
        let valid = try validFrames(codec)
        var accepted = 0
        var dropped: [DropReason: Int] = [:]
        for iteration in 0..<20_000 {
            var frames: [[UInt8]]
            switch iteration % 4 {
            case 0:  // pure noise
                frames = (0..<Int(random.next() % 5)).map { _ in
                    (0..<Int(random.next() % 64)).map { _ in UInt8.random(in: 0...255, using: &random) }
                }
            case 1:  // flip bytes in a valid message
                frames = valid
                let frame = Int(random.next() % 3)
                for _ in 0..<(1 + Int(random.next() % 4)) where !frames[frame].isEmpty {
                    frames[frame][Int(random.next() % UInt64(frames[frame].count))] = UInt8.random(in: 0...255, using: &random)
                }
            case 2:  // truncate a frame
                frames = valid
                let frame = Int(random.next() % 3)
                frames[frame] = Array(frames[frame].prefix(Int(random.next() % UInt64(frames[frame].count + 1))))
            default:  // shuffle, drop or duplicate frames
                frames = valid
                switch random.next() % 3 {
                case 0: frames.shuffle(using: &random)
                case 1: frames.removeLast()
                default: frames.append(frames[Int(random.next() % 3)])
                }
            }
            switch codec.decode(frames: frames) {
            case .failure(let reason):
                dropped[reason, default: 0] += 1
            case .success(let message):
                switch codec.decodeEvent(message) {
                case .success: accepted += 1
                case .failure(let reason): dropped[reason, default: 0] += 1
                }
            }
            // The header reader alone, on the (possibly damaged) second frame.
            if frames.count > 1 { _ = try? MessageHeader(jsonBytes: frames[1]) }
        }
        #expect(accepted + dropped.values.reduce(0, +) == 20_000)
        #expect(accepted > 0, "undamaged shuffles still decode")
        for reason in [DropReason.frameCount, .invalidHeader, .invalidBody] { #expect((dropped[reason] ?? 0) > 0, "\(reason)") }
    }

    @Test("control bodies with 0, -1, 2^63-1, 2^63, 2^64-1, 1e300 and reversed ranges are dropped by reason, never trusted")
    func hostileControlCorpus() throws {
        let codec = BusFrameCodec()
        let bodies = BusTrustTests.hostileControlBodies(owner: "collector/a", reader: "backups/b", topic: "backup.run.observed@00")
        var accepted: [String] = []
        for (topic, body) in bodies {
            let frames = try codec.encode(
                topic: topic, header: MessageHeader(schemaVersion: 1, stream: "collector/a", seq: 0), body: Array(body.utf8))
            guard case .success(let message) = codec.decode(frames: frames) else { continue }
            switch codec.decodeEvent(message) {
            case .failure(let reason): #expect([.invalidBody, .invalidValue].contains(reason))
            case .success: accepted.append(body)
            }
        }
        // What decodes is only what is within range (firstAvailableSeq or fromSeq 2^63-1, a heartbeat announcing 0
        // or 2^63-1); the consumer's own checks then refuse those (BusTrustTests).
        #expect(accepted.count == 4, "\(accepted)")
        #expect(accepted.allSatisfy { !$0.contains("18446744073709551615") && !$0.contains("9223372036854775808") })
        // A header numbered past Int64.max never decodes.
        let header = Array(
            #"{"messageId":"6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11","schemaVersion":1,"seq":18446744073709551615,"stream":"a/b","tenant":"default","timestamp":"2026-11-29T04:03:57.123Z"}"#
                .utf8)
        guard case .failure(.invalidHeader) = codec.decode(frames: [Array("backup.job.recorded".utf8), header, Array("{}".utf8)]) else {
            Issue.record("a seq past Int64.max was accepted")
            return
        }
    }
}
