import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Synchronization
import Testing
import VectisTestSupport

/// A real SMTP server for the tests: aiosmtpd (PyPI) with STARTTLS required (or TLS from the first byte), AUTH
/// only inside TLS, a self-signed certificate for `localhost`; every message received is parsed by Python's own
/// `email` package and written as JSON.
final class SMTPSink: @unchecked Sendable {
    struct Received: Decodable, Sendable {
        var from: String
        var to: [String]
        var subject: String
        var messageId: String
        var event: String
        var multipart: String
        var text: String?
        var html: String?
        var authenticated: Bool
    }

    let port: Int
    let directory: URL
    let user = "noc@msp.example"
    let password = "correct horse battery"
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    private let process: RunningProcess

    init(implicitTLS: Bool = false) async throws {
        port = try freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-smtp-\(UUID().uuidString)")
        let inbox = directory.appendingPathComponent("inbox")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key.pem").path
        let openssl = try RunningProcess(
            "/usr/bin/env",
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                directory.appendingPathComponent("cert.pem").path, "-days", "2", "-subj", "/CN=localhost", "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1"
            ])
        guard await openssl.waitForExit() == 0 else { throw ProcessFailure("openssl could not make the test certificate") }
        process = try RunningProcess(
            "/usr/bin/env",
            [
                "python3", "-c", Self.script, inbox.path, String(port), directory.appendingPathComponent("cert.pem").path, key, user,
                password,
                implicitTLS ? "tls" : "starttls"
            ])
        try await process.waitForOutput("ready")
    }

    /// What arrived, oldest first (a file that does not decode fails the test).
    func messages() -> [Received] {
        let inbox = directory.appendingPathComponent("inbox")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: inbox.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            do {
                return try JSONDecoder().decode(Received.self, from: Data(contentsOf: inbox.appendingPathComponent(name)))
            } catch {
                Issue.record("the SMTP sink's \(name) does not decode: \(error)")
                return nil
            }
        }
    }

    func stop() {
        process.signal(SIGTERM)
        try? FileManager.default.removeItem(at: directory)
    }

    static let script = """
        import email, json, os, ssl, sys, time
        from email import policy
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        out, port, cert, key, user, password, mode = sys.argv[1:8]
        count = 0

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                global count
                message = email.message_from_bytes(envelope.content, policy=policy.default)
                text = message.get_body(preferencelist=("plain",))
                html = message.get_body(preferencelist=("html",))
                record = {
                    "from": envelope.mail_from, "to": envelope.rcpt_tos, "subject": str(message["subject"]),
                    "messageId": str(message["message-id"]), "event": str(message["x-vectis-event"]),
                    "multipart": message.get_content_type(),
                    "text": text.get_content() if text else None, "html": html.get_content() if html else None,
                    "authenticated": bool(session.authenticated),
                }
                count += 1
                path = os.path.join(out, "%05d.json" % count)
                with open(path + ".tmp", "w") as f:
                    json.dump(record, f)
                os.rename(path + ".tmp", path)
                return "250 Message accepted for delivery"

        def authenticate(server, session, envelope, mechanism, auth_data):
            if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password:
                return AuthResult(success=True)
            return AuthResult(success=False, handled=False)

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticate)
        if mode == "tls":
            controller = Controller(Handler(), ssl_context=context, auth_require_tls=False, **common)
        else:
            controller = Controller(Handler(), tls_context=context, require_starttls=True, auth_require_tls=True, **common)
        controller.start()
        print("ready", flush=True)
        while True:
            time.sleep(3600)
        """
}

/// An HTTP endpoint standing in for Teams, Slack and a customer's webhook receiver: records every request with
/// its headers and body, and answers with the status it is told to.
final class WebhookSink: Sendable {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
    }

    let port: Int
    let received = Mutex<[Received]>([])
    /// The status answered (Slack answers 200 "ok", Teams Workflows 202).
    let status = Mutex<(Int, String)>((200, "ok"))
    var url: String { "http://127.0.0.1:\(port)" }

    init() throws { port = try freePort() }

    func requests(_ path: String) -> [Received] { received.withLock { $0.filter { $0.path == path } } }

    func application() -> some Service {
        let router = Router()
        router.add(middleware: Recorder(sink: self))
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
    }

    struct Recorder: RouterMiddleware {
        typealias Context = BasicRequestContext
        let sink: WebhookSink

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let body = try await request.body.collect(upTo: 1 << 20)
            sink.received.withLock {
                $0.append(Received(path: request.uri.path, headers: headers, body: Data(buffer: body)))
            }
            let (status, text) = sink.status.withLock { $0 }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
