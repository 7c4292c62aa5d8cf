import Foundation
import VectisRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange with a PSA: sends, waits for a slot in the tenant's request budget, classifies the outcome.
/// Retrying is the worker's business (it knows whether a create may already have happened).
struct PSAHTTPClient: Sendable {
    let session: URLSession
    let limiter: RequestRateLimiter
    let timeout: Duration
    /// Records every call (method, path, status, duration, error) for the rule's history — never bodies or headers.
    let journal: @Sendable (PSACall) -> Void

    init(limiter: RequestRateLimiter, timeout: Duration, journal: @escaping @Sendable (PSACall) -> Void) {
        self.limiter = limiter
        self.timeout = timeout
        self.journal = journal
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        session = URLSession(configuration: configuration)
    }

    struct PSACall: Sendable {
        var method: String
        var path: String
        var status: Int?
        var milliseconds: Int
        var error: String?
    }

    /// Sends and returns the body of a 2xx answer; anything else becomes a `PSAError`.
    func send(
        _ method: String, _ url: URL, headers: [String: String], json: Any? = nil, form: String? = nil,
        validationErrorsOn500: Bool = false, errorMessage: (Int, Any?) -> String = PSAHTTPClient.genericMessage
    ) async throws(PSAError) -> Any? {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = Double(timeout.components.seconds)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let json {
            request.httpBody = try? JSONSerialization.data(withJSONObject: json, options: [.withoutEscapingSlashes])
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let form {
            request.httpBody = Data(form.utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        do { try await limiter.acquire() } catch { throw .transient(status: nil, message: "cancelled") }
        let started = ContinuousClock.now
        func record(_ status: Int?, _ error: String?) {
            let elapsed = ContinuousClock.now - started
            journal(PSACall(method: method, path: url.path, status: status,
                            milliseconds: Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
                            error: error))
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as URLError where error.code == .timedOut {
            record(nil, "timeout")
            throw .timeout
        } catch {
            record(nil, "network: \(error.localizedDescription)")
            throw .transient(status: nil, message: "network error")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let body = data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        switch status {
        case 200..<300:
            record(status, nil)
            return body
        case 429:
            let header = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After")
            let wait = header.flatMap(Double.init).map { Duration.milliseconds(Int($0 * 1000)) } ?? .seconds(5)
            record(status, "rate limited")
            throw .rateLimited(retryAfter: wait, status: status)
        case 401, 403:
            let message = errorMessage(status, body)
            record(status, message)
            throw .unauthorized(status: status, message: message)
        case 500...599 where validationErrorsOn500 && !((body as? [String: Any])?["errors"] as? [String] ?? []).isEmpty:
            // Autotask reports refused creates as 500 with an errors[] text: a validation error, not an outage.
            let message = errorMessage(status, body)
            record(status, message)
            throw .rejected(status: status, message: message)
        case 500...599:
            let message = errorMessage(status, body)
            record(status, message)
            throw .transient(status: status, message: message)
        default:
            let message = errorMessage(status, body)
            record(status, message)
            throw .rejected(status: status, message: message)
        }
    }

    static func genericMessage(_ status: Int, _ body: Any?) -> String {
        if let object = body as? [String: Any] {
            if let message = object["message"] as? String { return message }
            if let errors = object["errors"] as? [String] { return errors.joined(separator: "; ") }
            if let first = object.first { return "\(first.key): \(first.value)" }
        }
        return "HTTP \(status)"
    }
}
