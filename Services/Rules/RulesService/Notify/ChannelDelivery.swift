import Crypto
import Foundation
import VectisAPI
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Delivers one message to one channel in its own format: an e-mail, a Teams or Slack webhook post, or the signed
/// JSON of a generic webhook. Every address is checked against the upstream policy before each send.
struct ChannelDelivery: Sendable {
    /// Webhook answers are small ("ok", 202); a bigger one is cut off, not buffered.
    static let maxResponseBytes = 64 << 10
    let session: BoundedHTTPSession
    let smtp: SMTPClient
    let upstreams: UpstreamPolicy
    let timeout: Duration

    init(timeout: Duration, upstreams: UpstreamPolicy, extraTrustRoots: String?) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(timeout.components.seconds)
        // A redirect is answered as it is: a webhook's content (and signature) never follows it elsewhere.
        session = BoundedHTTPSession(configuration: configuration, maxResponseBytes: Self.maxResponseBytes, redirects: .never)
        smtp = SMTPClient(timeout: timeout, extraTrustRoots: extraTrustRoots)
        self.upstreams = upstreams
        self.timeout = timeout
    }

    func send(
        _ payload: WebhookPayload, kind: ChannelKind, settings: ChannelSettings, secrets: ChannelSecrets, now: Date
    ) async throws(DeliveryFailure) {
        switch kind {
        case .email:
            guard let host = settings.smtpHost, let from = settings.from, let to = settings.to else {
                throw DeliveryFailure(message: "the channel's SMTP settings are incomplete")
            }
            let address: String
            switch upstreams.checkedAddress(host: host) {
            case .failure(let refusal): throw DeliveryFailure(message: "not sent: \(refusal.reason)")
            case .success(let checked): address = checked
            }
            let security = SMTPSecurity(rawValue: settings.smtpSecurity ?? "") ?? .startTLS
            let domain = from.split(separator: "@").last.map(String.init) ?? "vectis.invalid"
            let data = ChannelFormats.email(
                payload, from: from, to: to, messageId: "vectis.\(payload.delivery).\(Int(payload.at.timeIntervalSince1970))@\(domain)",
                date: now)
            try await smtp.send(
                from: from, to: to, data: data,
                via: SMTPClient.Server(
                    host: host, address: address, port: settings.smtpPort ?? security.defaultPort, security: security,
                    username: settings.smtpUsername, password: secrets.smtpPassword))
        case .slack:
            try await post(ChannelFormats.slack(payload), to: secrets.webhookURL, payload: payload, signingSecret: nil, now: now)
        case .teams:
            let format = TeamsFormat(rawValue: settings.teamsFormat ?? "") ?? .adaptiveCard
            try await post(
                ChannelFormats.teams(payload, format: format), to: secrets.webhookURL, payload: payload, signingSecret: nil, now: now)
        case .webhook:
            let body: Data
            do { body = try APIJSON.encoder().encode(payload) } catch { throw DeliveryFailure(message: "the message could not be encoded") }
            try await post(body, to: secrets.webhookURL, payload: payload, signingSecret: secrets.signingSecret, now: now)
        }
    }

    func post(_ json: [String: Any], to address: String?, payload: WebhookPayload, signingSecret: String?, now: Date)
        async throws(DeliveryFailure)
    {
        guard let body = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            throw DeliveryFailure(message: "the message could not be encoded")
        }
        try await post(body, to: address, payload: payload, signingSecret: signingSecret, now: now)
    }

    /// `X-Vectis-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, so a receiver can check both the body
    /// and its age (a replayed old post is refused by its timestamp).
    static func signature(body: Data, timestamp: String, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).".utf8) + body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    func post(_ body: Data, to address: String?, payload: WebhookPayload, signingSecret: String?, now: Date) async throws(DeliveryFailure) {
        guard let address, let url = URL(string: address) else { throw DeliveryFailure(message: "the channel has no webhook address") }
        if let refusal = upstreams.refusal(for: url) { throw DeliveryFailure(message: "not sent: \(refusal)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("Vectis", forHTTPHeaderField: "User-Agent")
        request.setValue(payload.delivery, forHTTPHeaderField: "X-Vectis-Delivery")
        request.setValue(payload.event.rawValue, forHTTPHeaderField: "X-Vectis-Event")
        if let signingSecret {
            let timestamp = String(Int(now.timeIntervalSince1970))
            request.setValue(timestamp, forHTTPHeaderField: "X-Vectis-Timestamp")
            request.setValue(
                Self.signature(body: body, timestamp: timestamp, secret: signingSecret), forHTTPHeaderField: "X-Vectis-Signature")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let tooLarge as ResponseTooLarge {
            // The receiver took it (a 2xx) and said more than anyone reads: delivered. Otherwise its status says why not.
            if let status = tooLarge.status, (200..<300).contains(status) { return }
            throw DeliveryFailure(
                message: "\(url.host ?? "the webhook") answered HTTP \(tooLarge.status.map(String.init) ?? "?") (\(tooLarge))")
        } catch let error as URLError {
            let host = url.host ?? "the webhook"
            switch error.code {
            case .timedOut: throw DeliveryFailure(message: "\(host) did not answer within \(timeout.components.seconds) s")
            case .cannotConnectToHost: throw DeliveryFailure(message: "\(host) refused the connection")
            case .cannotFindHost, .dnsLookupFailed: throw DeliveryFailure(message: "\(host) does not resolve")
            case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
                .serverCertificateHasUnknownRoot:
                throw DeliveryFailure(message: "TLS with \(host) failed (URL error \(error.code.rawValue))")
            default: throw DeliveryFailure(message: "\(host) could not be reached (URL error \(error.code.rawValue))")
            }
        } catch {
            throw DeliveryFailure(message: "\(url.host ?? "the webhook") could not be reached: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let words = UpstreamText.sanitized(String(decoding: data.prefix(2_000), as: UTF8.self), secrets: [address])
            // Whole seconds only (an HTTP date, "nan" or "1e999" is ignored: the backoff applies), at most an hour.
            let retryAfter = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After").flatMap { Int($0) }
                .map { TimeInterval(min(max($0, 1), 3_600)) }
            throw DeliveryFailure(
                message: "\(url.host ?? "the webhook") answered HTTP \(status)" + (words.isEmpty ? "" : ": \(words)"),
                retryAfter: retryAfter)
        }
    }
}
