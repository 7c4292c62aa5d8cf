import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import VectisAPI

/// Why a message did not go, in the receiving server's own words where it gave any (an SMTP reply, an HTTP status
/// and body); `retryAfter` when it said when to come back.
struct DeliveryFailure: Error, CustomStringConvertible {
    var message: String
    var retryAfter: TimeInterval?
    var description: String { message }
}

/// Sends one e-mail over SMTP: TLS from the first byte (465) or STARTTLS (587, refused when the server does not offer
/// it), AUTH PLAIN or LOGIN only inside TLS, then MAIL/RCPT/DATA. Every reply is bounded (4 KiB a line, 64 lines) and
/// the whole exchange by `timeout`.
struct SMTPClient: Sendable {
    struct Server: Sendable {
        /// The name: for SNI and the certificate check.
        var host: String
        /// The address checked against the upstream policy, connected to (the name is not resolved again).
        var address: String
        var port: Int
        var security: SMTPSecurity
        var username: String?
        var password: String?
    }

    let timeout: Duration
    let tls: TLSConfiguration

    init(timeout: Duration, extraTrustRoots: String?) {
        self.timeout = timeout
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        if let extraTrustRoots { tls.additionalTrustRoots = [.file(extraTrustRoots)] }
        self.tls = tls
    }

    func send(from: String, to: [String], data: String, via server: Server) async throws(DeliveryFailure) {
        do {
            try await exchange(from: from, to: to, data: data, via: server)
        } catch let failure as DeliveryFailure {
            throw failure
        } catch let error as NIOSSLError {
            throw DeliveryFailure(message: "TLS with \(server.host):\(server.port) failed: \(error)")
        } catch {
            throw DeliveryFailure(message: "SMTP connection to \(server.host):\(server.port) failed: \(error)")
        }
    }

    private func exchange(from: String, to: [String], data: String, via server: Server) async throws {
        let context = try NIOSSLContext(configuration: tls)
        // SNI and the certificate check take a name; an address literal is checked against the certificate's IPs.
        let hostname = server.host.contains(":") || server.host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : server.host
        let (lines, reader) = SMTPReplyReader.make()
        let current = CurrentReader(reader)
        let implicitTLS = server.security == .tls
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(timeout.components.seconds))
            .channelInitializer { [reader] channel in
                channel.eventLoop.makeCompletedFuture {
                    if implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: hostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(reader)
                }
            }
            .connect(host: server.address, port: server.port).get()
        // The whole conversation is bounded: when time is up the connection is closed, which ends the replies.
        let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)) {
            current.reader.withLock { $0 }.end(
                DeliveryFailure(message: "the SMTP server did not finish within \(timeout.components.seconds) s"))
            channel.close(promise: nil)
        }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        let conversation = SMTPConversation(channel: channel, server: server, lines: lines, reader: reader, current: current)
        _ = try await conversation.reply(expecting: [220], after: "greeting")
        try await conversation.say("EHLO vectis")
        var capabilities = try await conversation.reply(expecting: [250], after: "EHLO")
        if server.security == .startTLS {
            capabilities = try await conversation.startTLS(capabilities, context: context, hostname: hostname)
        }
        if let username = server.username { try await conversation.authenticate(username, capabilities: capabilities) }
        try await conversation.deliver(from: from, to: to, data: data)
    }

    /// The server's words, without the password (as sent, in base64, or inside AUTH PLAIN's string) if it echoed
    /// it, at most 300 characters — hidden before cut, so no part of it is left at the cut.
    static func sanitized(_ text: String, server: Server) -> String {
        var result = text
        if let password = server.password, !password.isEmpty {
            var forms = [Data(password.utf8).base64EncodedString()]
            if let user = server.username { forms.append(Data("\0\(user)\0\(password)".utf8).base64EncodedString()) }
            if password.count >= 4 { forms.append(password) }
            for form in forms.sorted(by: { $0.count > $1.count }) { result = result.replacingOccurrences(of: form, with: "***") }
        }
        return String(result.prefix(300))
    }
}

/// One SMTP conversation on a connected channel: the server's replies, read one at a time, and the lines said.
private final class SMTPConversation {
    let channel: any Channel
    let server: SMTPClient.Server
    var reader: SMTPReplyReader
    var replies: AsyncThrowingStream<String, Error>.AsyncIterator
    /// The reader the deadline ends, which is the new one after STARTTLS.
    let current: CurrentReader

    init(
        channel: any Channel, server: SMTPClient.Server, lines: AsyncThrowingStream<String, Error>, reader: SMTPReplyReader,
        current: CurrentReader
    ) {
        self.channel = channel
        self.server = server
        self.reader = reader
        self.replies = lines.makeAsyncIterator()
        self.current = current
    }

    /// The next reply, whole; it fails with the server's words unless its code is one of `codes`.
    func reply(expecting codes: Set<Int>, after step: String) async throws -> [String] {
        var text: [String] = []
        while let line = try await replies.next() {
            text.append(line)
            let bytes = Array(line.utf8)
            if bytes.count < 4 || bytes[3] != UInt8(ascii: "-") { break }
            if text.count >= 64 { throw DeliveryFailure(message: "\(step): the SMTP server's reply is too long") }
        }
        guard let last = text.last else { throw DeliveryFailure(message: "\(step): the SMTP server closed the connection") }
        guard let code = Int(last.prefix(3)), codes.contains(code) else {
            // The server's own words (its last reply line, without the password if it echoed it).
            let words = text.joined(separator: " ").replacingOccurrences(of: "\r", with: "")
            throw DeliveryFailure(message: "\(step): " + SMTPClient.sanitized(words, server: server))
        }
        return text
    }

    func say(_ line: String) async throws {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
        } catch {
            // The connection ended under the write (a failed TLS handshake, the server hung up): the reason
            // is what ended the replies.
            while try await replies.next() != nil {}
            throw DeliveryFailure(message: "the SMTP server closed the connection")
        }
    }

    /// STARTTLS, refused when the server does not offer it; returns the capabilities said again behind TLS.
    func startTLS(_ capabilities: [String], context: NIOSSLContext, hostname: String?) async throws -> [String] {
        guard capabilities.contains(where: { $0.dropFirst(4).uppercased().hasPrefix("STARTTLS") }) else {
            throw DeliveryFailure(
                message: "\(server.host) does not offer STARTTLS: mail is not sent unencrypted (use security tls for port 465)")
        }
        try await say("STARTTLS")
        _ = try await reply(expecting: [220], after: "STARTTLS")
        // Whatever arrived unencrypted after that 220 (an attacker's forged capabilities) stays in the old reader:
        // the conversation goes on with a fresh one, behind TLS.
        try await channel.pipeline.removeHandler(reader).get()
        let (lines, fresh) = SMTPReplyReader.make()
        reader = fresh
        current.reader.withLock { $0 = fresh }
        replies = lines.makeAsyncIterator()
        // The new reader is in place before TLS starts: a handshake that fails (an untrusted certificate) ends
        // its replies with the reason, rather than closing a channel nobody is listening to.
        try await channel.pipeline.addHandler(fresh).get()
        try await channel.pipeline.addHandler(NIOSSLClientHandler(context: context, serverHostname: hostname), position: .first).get()
        try await say("EHLO vectis")
        return try await reply(expecting: [250], after: "EHLO")
    }

    /// AUTH PLAIN, or LOGIN when that is all the server offers.
    func authenticate(_ username: String, capabilities: [String]) async throws {
        let mechanisms = capabilities.first { $0.dropFirst(4).uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
        let password = server.password ?? ""
        if mechanisms.contains("PLAIN") {
            try await say("AUTH PLAIN " + Data("\0\(username)\0\(password)".utf8).base64EncodedString())
            _ = try await reply(expecting: [235], after: "AUTH")
        } else if mechanisms.contains("LOGIN") {
            try await say("AUTH LOGIN")
            _ = try await reply(expecting: [334], after: "AUTH")
            try await say(Data(username.utf8).base64EncodedString())
            _ = try await reply(expecting: [334], after: "AUTH")
            try await say(Data(password.utf8).base64EncodedString())
            _ = try await reply(expecting: [235], after: "AUTH")
        } else {
            throw DeliveryFailure(message: "\(server.host) offers no AUTH PLAIN or LOGIN, and a user name is set")
        }
    }

    /// MAIL, RCPT for each recipient, DATA (dot-stuffed), QUIT.
    func deliver(from: String, to: [String], data: String) async throws {
        try await say("MAIL FROM:<\(from)>")
        _ = try await reply(expecting: [250], after: "MAIL FROM")
        for recipient in to {
            try await say("RCPT TO:<\(recipient)>")
            _ = try await reply(expecting: [250, 251], after: "RCPT TO \(recipient)")
        }
        try await say("DATA")
        _ = try await reply(expecting: [354], after: "DATA")
        // Dot-stuffing: a line that starts with "." gets another, so no line of the message ends the data early.
        let body = data.split(separator: "\r\n", omittingEmptySubsequences: false).map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        try await channel.writeAndFlush(ByteBuffer(string: body.joined(separator: "\r\n") + "\r\n.\r\n")).get()
        _ = try await reply(expecting: [250], after: "end of data")
        // The message is accepted: a server that hangs up before QUIT's answer changes nothing.
        try? await say("QUIT")
    }
}

/// The reader in use, shared with the deadline that ends it.
private final class CurrentReader: Sendable {
    let reader: Mutex<SMTPReplyReader>
    init(_ reader: SMTPReplyReader) { self.reader = Mutex(reader) }
}

/// Splits the server's bytes into reply lines for the conversation; a line over 4 KiB, or more lines than the
/// conversation has asked for (256 waiting), ends it.
private final class SMTPReplyReader: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    // Touched only on the channel's event loop.
    private var line: [UInt8] = []
    private let sink: AsyncThrowingStream<String, Error>.Continuation

    static func make() -> (AsyncThrowingStream<String, Error>, SMTPReplyReader) {
        let (lines, sink) = AsyncThrowingStream<String, Error>.makeStream(bufferingPolicy: .bufferingOldest(256))
        return (lines, SMTPReplyReader(sink))
    }

    private init(_ sink: AsyncThrowingStream<String, Error>.Continuation) { self.sink = sink }

    func end(_ error: Error) { sink.finish(throwing: error) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for byte in buffer.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                if case .dropped = sink.yield(String(decoding: line, as: UTF8.self)) {
                    sink.finish(throwing: DeliveryFailure(message: "the SMTP server sent far more than it was asked for"))
                    context.close(promise: nil)
                    return
                }
                line.removeAll(keepingCapacity: true)
            } else if line.count >= 4_096 {
                sink.finish(throwing: DeliveryFailure(message: "the SMTP server sent a line over 4 KiB"))
                context.close(promise: nil)
                return
            } else {
                line.append(byte)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        sink.finish(throwing: error)
        context.close(promise: nil)
    }
}
