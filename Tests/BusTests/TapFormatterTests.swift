import Foundation
import Testing
import VectisBus
import VectisCLI
import VectisContracts
import VectisTestSupport

@Suite("vectis tap output")
struct TapFormatterTests {
    let encoder = BusJSON.makeEncoder()

    func frames(topic: String, body: String) throws -> [[UInt8]] {
        let header = MessageHeader(schemaVersion: 1, stream: "collector/a", seq: 9, tenant: "default")
        return [Array(topic.utf8), Array(try encoder.encode(header)), Array(body.utf8)]
    }

    let secretBody =
        #"{"publicKey":"pub-123","secretKey":"s3cr3t-value","settings":{"apiToken":"tok-value","psa":[{"privateKey":"pk-value","PASSWORD":"pw-value"}]}}"#

    @Test("JSON lines carry time, topic, stream, seq, header and body, with secret-named fields as ***")
    func jsonLine() throws {
        let line = try #require(TapFormatter(style: .json).format(try frames(topic: "collector.sync.started", body: secretBody)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["topic"] as? String == "collector.sync.started")
        #expect(object["stream"] as? String == "collector/a")
        #expect(object["seq"] as? Int == 9)
        #expect(object["time"] is String)
        let body = try #require(object["body"] as? [String: Any])
        #expect(body["publicKey"] as? String == "pub-123")
        #expect(body["secretKey"] as? String == "***")
        for secret in ["s3cr3t-value", "tok-value", "pk-value", "pw-value"] {
            #expect(!line.contains(secret))
        }
    }

    @Test("pretty and raw output never show a secret either")
    func prettyAndRawRedacted() throws {
        let input = try frames(topic: "collector.sync.started", body: secretBody)
        for style in [TapFormatter.Style.pretty, .raw] {
            let output = try #require(TapFormatter(style: style).format(input))
            #expect(output.contains("collector.sync.started"))
            // Raw output is hex; check the hex of the secret too.
            let secretHex = Array("s3cr3t".utf8).map { String(format: "%02x", $0) }.joined(separator: " ")
            #expect(!output.contains("s3cr3t") && !output.contains(secretHex), "\(style)")
        }
    }

    @Test("a bundle shows as its events, one line each, in order; raw mode dumps its frames once; no style shows a secret")
    func bundle() throws {
        let items = (1...3).map { seq in
            BusBundle.Item(
                topic: "collector.sync.started", seq: UInt64(seq),
                header: MessageHeader(schemaVersion: 1, stream: "collector/a", seq: UInt64(seq)).jsonBytes(), body: Array(secretBody.utf8))
        }
        let frames = BusBundle.messages(items, maxEvents: 16, maxBytes: 1 << 20)[0].frames
        let pretty = try #require(TapFormatter(style: .pretty).format(frames)).split(separator: "\n")
        #expect(pretty.count == 3)
        #expect(pretty.map { $0.contains("collector/a#1") } == [true, false, false])
        #expect(pretty[2].contains("collector/a#3"))
        let json = try #require(TapFormatter(style: .json).format(frames)).split(separator: "\n")
        #expect(
            try json.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.compactMap { $0?["seq"] as? Int } == [
                1, 2, 3
            ])
        let raw = try #require(TapFormatter(style: .raw).format(frames))
        #expect(raw.contains("bundle collector.sync.started of 3 events, 3 frames"))
        for output in [pretty.joined(separator: "\n"), json.joined(separator: "\n"), raw] {
            let secretHex = Array("s3cr3t".utf8).map { String(format: "%02x", $0) }.joined(separator: " ")
            #expect(!output.contains("s3cr3t") && !output.contains(secretHex))
        }
    }

    @Test("raw mode labels subscription frames and proxy control commands; JSON mode leaves them out")
    func subscriptionFrames() {
        let subscribe = [[UInt8(1)] + Array("backup.job.".utf8)]
        let unsubscribe = [[UInt8(0)] + Array("alert.".utf8)]
        let raw = TapFormatter(style: .raw)
        #expect(raw.format(subscribe)?.contains(#"[subscribe "backup.job."]"#) == true)
        #expect(raw.format(unsubscribe)?.contains(#"[unsubscribe "alert."]"#) == true)
        #expect(raw.format([Array("STATISTICS".utf8)])?.contains("[proxy control STATISTICS]") == true)
        #expect(TapFormatter(style: .json).format(subscribe) == nil)
        #expect(TapFormatter(style: .pretty).format([Array("STATISTICS".utf8)]) == nil)
    }

    @Test("pretty mode flags a malformed message instead of hiding it")
    func malformedShown() {
        let line = TapFormatter(style: .pretty).format([Array("backup.job.recorded".utf8), Array("{}".utf8)])
        #expect(line?.contains("malformed message (frame_count, 2 frames)") == true)
    }

    @Test("JSON mode shows a malformed message too (reason, frames, topic), never its body")
    func malformedInJSON() throws {
        let line = try #require(
            TapFormatter(style: .json).format([Array("backup.job.recorded".utf8), Array("{not json".utf8), Array(secretBody.utf8)]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["malformed"] as? String == "invalid_header")
        #expect(object["frames"] as? Int == 3)
        #expect(object["topic"] as? String == "backup.job.recorded")
        #expect(!line.contains("s3cr3t-value"))
    }

    @Test("control characters in a topic or stream are shown escaped, never sent to the terminal")
    func controlCharactersEscaped() throws {
        let header = MessageHeader(schemaVersion: 1, stream: "collector/a", seq: 1, tenant: "default")
        let frames = [Array("backup.job.recorded\u{1B}]0;owned\u{07}".utf8), Array(try encoder.encode(header)), Array("{}".utf8)]
        let line = try #require(TapFormatter(style: .pretty).format(frames))
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 })
        #expect(line.contains("\\u{1b}"))
    }
}
