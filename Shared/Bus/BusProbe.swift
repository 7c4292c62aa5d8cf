import Foundation
import VectisContracts
import ZeroMQ

/// Proves the path through `vectis-bus` works before a socket is called ready.
///
/// PUB sockets drop what they send before the bus has told them about subscribers (the "slow joiner"), so
/// instead of sleeping, a socket sends small `bus.probe.<id>` messages until one comes back through the bus.
/// Subscriptions on one connection travel in order, so once the probe is back, every subscription made
/// before it is in place too.
public enum BusProbe {
    public static let topicPrefix = ProbeTopics.prefix

    public static func makeTopic() -> String {
        topicPrefix + UUID().uuidString.lowercased()
    }

    public static func frames(topic: String, codec: BusFrameCodec) throws -> [[UInt8]] {
        let header = MessageHeader(schemaVersion: 1, stream: topic, seq: 0)
        return try codec.encode(topic: topic, header: header, body: Array("{}".utf8))
    }

    /// Sends a probe on `sender` every 25 ms until a frame set with `topic` arrives on `receiver`, the timeout
    /// passes, or `shouldStop` says so. Every other message read meanwhile is handed to `other`.
    public static func roundTrip(
        sender: ZMQSocket, receiver: ZMQSocket, topic: String, codec: BusFrameCodec, timeout: Duration,
        shouldStop: () -> Bool, other: ([[UInt8]]) -> Void
    ) throws -> Bool {
        let probe = try frames(topic: topic, codec: codec)
        let topicBytes = Array(topic.utf8)
        let deadline = ContinuousClock.now + timeout
        var nextSend = ContinuousClock.now
        while ContinuousClock.now < deadline, !shouldStop() {
            if ContinuousClock.now >= nextSend {
                try sender.send(probe, dontWait: true)
                nextSend = ContinuousClock.now + .milliseconds(25)
            }
            guard try receiver.waitReadable(timeoutMilliseconds: 25) else { continue }
            while let frames = try receiver.receiveMessage(dontWait: true) {
                if frames.first == topicBytes { return true }
                other(frames)
            }
        }
        return false
    }
}
