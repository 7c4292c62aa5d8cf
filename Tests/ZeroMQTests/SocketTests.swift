import Foundation
import Testing
import ZeroMQ

@Suite("ZeroMQ wrapper")
struct SocketTests {
    let context: ZMQContext

    init() throws {
        context = try ZMQContext()
    }

    /// A PUB/SUB pair on loopback with the subscription in place.
    func connectedPair(prefix: String = "") throws -> (ZMQSocket, ZMQSocket) {
        let subscriber = try ZMQSocket(context: context, type: .sub)
        try subscriber.setLinger(milliseconds: 0)
        try subscriber.subscribe(prefix)
        try subscriber.bind("tcp://127.0.0.1:*")
        let publisher = try ZMQSocket(context: context, type: .pub)
        try publisher.setLinger(milliseconds: 0)
        try publisher.connect(try subscriber.lastEndpoint)
        // Until the subscription reaches the publisher it drops; send until something arrives.
        for _ in 0..<200 {
            try publisher.send([Array((prefix + "warm").utf8)])
            if try subscriber.waitReadable(timeoutMilliseconds: 10) { break }
        }
        while try subscriber.receiveMessage(dontWait: true) != nil {}
        return (publisher, subscriber)
    }

    @Test("multipart messages arrive whole, binary and empty frames included")
    func multipartRoundTrip() throws {
        let (publisher, subscriber) = try connectedPair()
        let frames: [[UInt8]] = [Array("topic".utf8), [], [0, 1, 2, 255, 0], Array(repeating: 7, count: 100_000)]
        #expect(try publisher.send(frames))
        #expect(try subscriber.waitReadable(timeoutMilliseconds: 2_000))
        let received = try subscriber.receiveMessage()
        #expect(received == frames)
    }

    @Test("a non-blocking receive with nothing queued returns nil, and so does an elapsed receive timeout")
    func receiveWithoutMessage() throws {
        let (_, subscriber) = try connectedPair()
        #expect(try subscriber.receiveMessage(dontWait: true) == nil)
        try subscriber.setReceiveTimeout(milliseconds: 50)
        let started = ContinuousClock.now
        #expect(try subscriber.receiveMessage() == nil)
        #expect(ContinuousClock.now - started >= .milliseconds(40))
    }

    @Test("SUB prefix filtering happens on the topic frame only")
    func prefixFiltering() throws {
        let (publisher, subscriber) = try connectedPair(prefix: "alert.")
        try publisher.send([Array("backup.job.recorded".utf8), Array("alert.raised".utf8)])
        try publisher.send([Array("alert.raised".utf8), Array("body".utf8)])
        #expect(try subscriber.waitReadable(timeoutMilliseconds: 2_000))
        #expect(try subscriber.receiveMessage()?.first == Array("alert.raised".utf8))
        #expect(try subscriber.receiveMessage(dontWait: true) == nil)
    }

    @Test("errors carry libzmq's own explanation")
    func errorText() throws {
        let socket = try ZMQSocket(context: context, type: .pub)
        try socket.setLinger(milliseconds: 0)
        let error = #expect(throws: ZMQError.self) { try socket.bind("nonsense://x") }
        #expect(error?.description == "bind nonsense://x: Protocol not supported")

        try socket.bind("tcp://127.0.0.1:*")
        let endpoint = try socket.lastEndpoint
        let second = try ZMQSocket(context: context, type: .pub)
        try second.setLinger(milliseconds: 0)
        let inUse = #expect(throws: ZMQError.self) { try second.bind(endpoint) }
        #expect(inUse?.message == "Address already in use")
    }

    @Test("shutting the context down ends a blocking receive with ETERM")
    func contextShutdownUnblocks() async throws {
        let context = self.context
        let thread = ZMQSocketThread.start(name: "blocked") {
            do {
                let socket = try ZMQSocket(context: context, type: .sub)
                try socket.setLinger(milliseconds: 0)
                try socket.subscribe("")
                try socket.bind("tcp://127.0.0.1:*")
                while true { _ = try socket.receiveMessage() }
            } catch let error as ZMQError {
                #expect(error.isTerminated)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!thread.isFinished)
        context.shutdown()
        #expect(thread.join(timeout: .seconds(2)))
    }

    @Test("CURVE: an encrypted pair talks, a peer without the server key hears nothing")
    func curve() throws {
        let server = try ZMQCurve.keyPair()
        let client = try ZMQCurve.keyPair()
        #expect(server.publicKey.count == 40 && server.secretKey.count == 40)
        #expect(server.publicKey != client.publicKey)

        let subscriber = try ZMQSocket(context: context, type: .sub)
        try subscriber.setLinger(milliseconds: 0)
        try subscriber.setCurveServer(secretKey: server.secretKey)
        try subscriber.subscribe("")
        try subscriber.bind("tcp://127.0.0.1:*")
        let endpoint = try subscriber.lastEndpoint

        let plain = try ZMQSocket(context: context, type: .pub)
        try plain.setLinger(milliseconds: 0)
        try plain.connect(endpoint)
        let encrypted = try ZMQSocket(context: context, type: .pub)
        try encrypted.setLinger(milliseconds: 0)
        try encrypted.setCurveClient(serverKey: server.publicKey, publicKey: client.publicKey, secretKey: client.secretKey)
        try encrypted.connect(endpoint)

        var fromEncrypted = false
        for _ in 0..<200 where !fromEncrypted {
            try plain.send([Array("plain".utf8)])
            try encrypted.send([Array("curve".utf8)])
            if try subscriber.waitReadable(timeoutMilliseconds: 10) {
                while let message = try subscriber.receiveMessage(dontWait: true) {
                    #expect(message == [Array("curve".utf8)], "a plain-text peer must not get through")
                    fromEncrypted = true
                }
            }
        }
        #expect(fromEncrypted)
    }
}
