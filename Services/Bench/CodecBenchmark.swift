import ArgumentParser
import Foundation
import VectisBus
import VectisContracts

/// `vectis-bench codec`: what framing costs per message on one core (encode, then validate + decode).
struct CodecBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec", abstract: "Messages/s for encoding and for validating + decoding bus frames, one core.")

    @Option var count = 200_000

    func run() throws {
        let codec = BusFrameCodec()
        let event = BackupRunObserved(
            deviceSerial: "A1B2C3", agentVolume: "v1", agentName: "srv", customer: CustomerRef(key: "org:1", name: "Acme"),
            runAt: Date(), rawStatus: "success")
        var frames: [[UInt8]] = []
        var started = ContinuousClock.now
        for seq in 0..<count {
            let header = MessageHeader(schemaVersion: 1, stream: "bench/codec", seq: UInt64(seq), customerKey: "org:1")
            frames = try codec.encode(event, header: header)
        }
        let encode = ContinuousClock.now - started
        started = ContinuousClock.now
        var decoded = 0
        for _ in 0..<count {
            if case .success(let message) = codec.decode(frames: frames), case .success = codec.decodeEvent(message) {
                decoded += 1
            }
        }
        let decode = ContinuousClock.now - started
        let header = MessageHeader(schemaVersion: 1, stream: "bench/codec", seq: 1, customerKey: "org:1")
        started = ContinuousClock.now
        for _ in 0..<count { _ = try codec.encoder.encode(header) }
        let foundationEncode = ContinuousClock.now - started
        started = ContinuousClock.now
        for _ in 0..<count { _ = try codec.decoder.decode(MessageHeader.self, from: Data(frames[1])) }
        let foundationDecode = ContinuousClock.now - started
        started = ContinuousClock.now
        for _ in 0..<count { _ = header.jsonBytes() }
        let handEncode = ContinuousClock.now - started
        started = ContinuousClock.now
        for _ in 0..<count { _ = try MessageHeader(jsonBytes: frames[1]) }
        let handDecode = ContinuousClock.now - started
        func micros(_ duration: Duration) -> Double { seconds(duration) / Double(count) * 1e6 }
        print(
            String(format: "header, Foundation coders:  encode %.2f µs, decode %.2f µs", micros(foundationEncode), micros(foundationDecode))
        )
        print(String(format: "header, hand-written codec: encode %.2f µs, decode %.2f µs", micros(handEncode), micros(handDecode)))
        print(
            String(
                format: "encode header+body:   %9.0f msg/s  (%.1f µs each, %d bytes)", Double(count) / seconds(encode),
                seconds(encode) / Double(count) * 1e6, frames.map(\.count).reduce(0, +)))
        print(
            String(
                format: "validate+decode:      %9.0f msg/s  (%.1f µs each)", Double(decoded) / seconds(decode),
                seconds(decode) / Double(count) * 1e6))
    }
}
