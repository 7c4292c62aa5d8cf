import Foundation
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP exchange with a PSA: sends, waits for a slot in the tenant's request budget, classifies the outcome.
/// Retrying is the worker's business (it knows whether a create may already have happened).
struct PSAHTTPClient: Sendable {
    /// PSA answers are small (a ticket, a page of search results); a bigger one is cut off, not buffered.
    static let maxResponseBytes = 4 << 20
    let session: BoundedHTTPSession
    let limiter: RequestRateLimiter
    let timeout: Duration
    /// Records every call (method, path, status, duration, error) for the rule's history — never bodies or headers.
    let journal: @Sendable (PSACall) -> Void

    /// Set for calls someone is waiting for (Send test ticket, Load choices): rather than wait out a spent request
    /// budget (up to an hour for Autotask), such a call says so. Background ticket work waits its turn.
    let longestBudgetWait: Duration?
    /// Where calls may go (no loopback or private addresses unless allowed), checked before every call.
    let upstreams: UpstreamPolicy
    /// For the scheduled read-back: its own slice of the budget, never waited for (a spent share ends the pass).
    let share: RequestRateLimiter?

    static let shareSpent = "the read-back's share of this PSA account's request budget is spent for now"

    init(
        limiter: RequestRateLimiter, timeout: Duration, upstreams: UpstreamPolicy, longestBudgetWait: Duration? = nil,
        share: RequestRateLimiter? = nil, journal: @escaping @Sendable (PSACall) -> Void
    ) {
        self.share = share
        self.limiter = limiter
        self.upstreams = upstreams
        self.longestBudgetWait = longestBudgetWait
        self.timeout = timeout
        self.journal = journal
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        session = BoundedHTTPSession(configuration: configuration, maxResponseBytes: Self.maxResponseBytes)
    }

    /// "minute", "5 minutes", "hour".
    static func describe(_ window: Duration) -> String {
        switch window.components.seconds {
        case 60: "minute"
        case 3_600: "hour"
        case let seconds where seconds % 60 == 0: "\(seconds / 60) minutes"
        case let seconds: "\(seconds) s"
        }
    }

    struct PSACall: Sendable {
        var method: String
        var path: String
        var status: Int?
        var milliseconds: Int
        var error: String?
    }

    /// Sends and returns the body of a 2xx answer; anything else becomes a `PSAError`. Every call, made or refused,
    /// goes into the journal (method, path, status, duration, error — never bodies or headers).
    func send(
        _ method: String, _ url: URL, headers: [String: String], json: Any? = nil, form: String? = nil,
        validationErrorsOn500: Bool = false, errorMessage: (Int, Any?) -> String = PSAHTTPClient.genericMessage
    ) async throws(PSAError) -> Any? {
        func refuse(_ reason: String, _ error: PSAError) -> PSAError {
            journal(PSACall(method: method, path: url.path, status: nil, milliseconds: 0, error: reason))
            return error
        }
        if let refusal = upstreams.refusal(for: url) {
            throw refuse("not called: \(refusal)", .rejected(status: 0, message: "not called: \(refusal)"))
        }
        let sent = Self.secretsSent(headers: headers, form: form)
        guard let request = makeRequest(method, url, headers: headers, json: json, form: form) else {
            // Never send an empty body in its place: the call is refused before it leaves.
            throw refuse(
                "not called: body not JSON", .rejected(status: 0, message: "not called: the request body could not be encoded as JSON"))
        }
        try await waitForBudget()
        let started = ContinuousClock.now
        func record(_ status: Int?, _ error: String?) {
            let elapsed = ContinuousClock.now - started
            journal(
                PSACall(
                    method: method, path: url.path, status: status,
                    milliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
                    error: error))
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as ResponseTooLarge {
            record(nil, "\(error)")
            throw .rejected(status: 0, message: "the PSA's answer was cut off: \(error)")
        } catch let error as URLError where error.code == .timedOut {
            record(nil, "timeout")
            throw .timeout
        } catch {
            record(nil, "network: \(error.localizedDescription)")
            throw .transient(status: nil, message: "network error")
        }
        let http = response as? HTTPURLResponse
        let answer = Self.interpret(
            status: http?.statusCode ?? 0, data: data, contentType: http?.value(forHTTPHeaderField: "Content-Type"),
            retryAfter: http?.value(forHTTPHeaderField: "Retry-After"), validationErrorsOn500: validationErrorsOn500,
            errorMessage: { UpstreamText.sanitized(errorMessage($0, $1), secrets: sent) },
            sanitized: { UpstreamText.sanitized($0, secrets: sent) })
        switch answer {
        case .success(let body):
            record(http?.statusCode ?? 0, nil)
            return body
        case .failure(let error):
            record(http?.statusCode ?? 0, error.journalText)
            throw error
        }
    }

    /// What a call sends that must never come back out in an error: credential headers and form values.
    static func secretsSent(headers: [String: String], form: String?) -> [String] {
        var sent: [String] = []
        for (name, value) in headers where ["authorization", "clientid", "secret", "apiintegrationcode"].contains(name.lowercased()) {
            sent.append(value)
            if let credential = value.split(separator: " ").last { sent.append(String(credential)) }
        }
        for pair in (form ?? "").split(separator: "&") {
            guard let value = pair.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init) else { continue }
            sent.append(value)
            sent.append(value.removingPercentEncoding ?? value)
        }
        return sent
    }

    /// The request, or nil when the JSON body cannot be encoded.
    func makeRequest(_ method: String, _ url: URL, headers: [String: String], json: Any?, form: String?) -> URLRequest? {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = Double(timeout.components.seconds)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            guard JSONSerialization.isValidJSONObject(json),
                let body = try? JSONSerialization.data(withJSONObject: json, options: [.withoutEscapingSlashes])
            else { return nil }
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let form {
            request.httpBody = Data(form.utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        return request
    }

    /// Takes a slot of the account's request budget; someone at a screen (`longestBudgetWait`) is told how long
    /// instead of being kept waiting.
    func waitForBudget() async throws(PSAError) {
        if let share {
            let wait: Duration?
            do { wait = try await share.acquire(waitingAtMost: .zero) } catch { throw .transient(status: nil, message: "cancelled") }
            if wait != nil { throw .rejected(status: 0, message: Self.shareSpent) }
        }
        guard let longestBudgetWait else {
            do { try await limiter.acquire() } catch { throw .transient(status: nil, message: "cancelled") }
            return
        }
        let wait: Duration?
        do { wait = try await limiter.acquire(waitingAtMost: longestBudgetWait) } catch {
            throw .transient(status: nil, message: "cancelled")
        }
        if let wait {
            let seconds = Int(wait.components.seconds) + 1
            throw .rejected(
                status: 0,
                message: "this PSA account's request budget (\(limiter.limit) per \(Self.describe(limiter.window))) "
                    + "is spent for now, to leave room for tickets; try again in \(seconds) s")
        }
    }

    /// What an answer means: the JSON body of a 2xx, or the `PSAError` it is. `errorMessage` and `sanitized` give
    /// the PSA's words with every credential the call sent taken out.
    static func interpret(
        status: Int, data: Data, contentType: String?, retryAfter: String?, validationErrorsOn500: Bool,
        errorMessage: (Int, Any?) -> String, sanitized: (String) -> String
    ) -> Result<Any?, PSAError> {
        let json = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        // Not JSON: keep a short, tag-free excerpt so the history can say what the PSA (or a proxy) answered.
        let body = json ?? (data.isEmpty ? nil : excerpt(data))
        switch status {
        case 200..<300 where !data.isEmpty && json == nil:
            // Usually a login or portal page: the URL reaches a web server, but not the PSA's REST API.
            let type = sanitized(String((contentType ?? "no content type").prefix(80)))
            return .failure(
                .rejected(status: status, message: "answered \(status) with \(type), not JSON: is the URL the PSA's API address?"))
        case 200..<300:
            return .success(json)
        case 429:
            return .failure(.rateLimited(retryAfter: Self.retryAfter(retryAfter), status: status))
        case 401, 403:
            return .failure(.unauthorized(status: status, message: errorMessage(status, body)))
        case 500...599 where validationErrorsOn500 && !((body as? [String: Any])?["errors"] as? [String] ?? []).isEmpty:
            // Autotask reports refused creates as 500 with an errors[] text: a validation error, not an outage.
            return .failure(.rejected(status: status, message: errorMessage(status, body)))
        case 500...599:
            return .failure(.transient(status: status, message: errorMessage(status, body)))
        default:
            return .failure(.rejected(status: status, message: errorMessage(status, body)))
        }
    }

    /// A 429's `Retry-After` as a wait, clamped to the budget window's length (a minute): `Int(1e20 * 1000)` would
    /// trap, and a PSA that asks for longer is asked again after a minute anyway. Not a number (or NaN): 5 s.
    static func retryAfter(_ header: String?) -> Duration {
        header.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            .flatMap { $0.isNaN ? nil : Duration.milliseconds(Int64(min(max(0, $0), 60) * 1_000)) } ?? .seconds(5)
    }

    /// The PSA's own words for a refusal, whichever shape they come in: `message` plus ConnectWise's
    /// `errors[{message, field}]`, Autotask's `errors["…"]`, OAuth2's `error_description`, or a plain-text body.
    static func genericMessage(_ status: Int, _ body: Any?) -> String {
        if let object = body as? [String: Any] {
            var parts: [String] = []
            if let message = object["message"] as? String { parts.append(message) }
            if let description = object["error_description"] as? String {
                parts.append("\(object["error"] as? String ?? "error"): \(description)")
            }
            if let errors = object["errors"] as? [String] { parts += errors }
            if let errors = object["errors"] as? [[String: Any]] {
                parts += errors.compactMap { error in
                    (error["message"] as? String).map { message in (error["field"] as? String).map { "\($0): \(message)" } ?? message }
                }
            }
            if parts.isEmpty, let first = object.sorted(by: { $0.key < $1.key }).first { parts.append("\(first.key): \(first.value)") }
            return parts.joined(separator: "; ")
        }
        if let text = body as? String, !text.isEmpty { return text }
        return "no body"
    }

    /// At most 200 characters of a non-JSON body, markup removed.
    static func excerpt(_ data: Data) -> String {
        let text = String(decoding: data.prefix(4_096), as: UTF8.self)
            .replacingOccurrences(of: "<[^>]*>", with: " ", options: .regularExpression)
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}

extension PSAError {
    /// What the call journal says about it (its status is journalled beside it).
    var journalText: String {
        switch self {
        case .rateLimited: "rate limited"
        case .timeout: "timeout"
        case .transient(_, let message), .unauthorized(_, let message), .rejected(_, let message): message
        }
    }
}
