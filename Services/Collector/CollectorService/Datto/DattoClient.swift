import Foundation
import Logging
import Synchronization
import VectisRuntime
import VectisStorage

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A partner API key pair and the region it belongs to.
public struct DattoCredentials: Sendable, Equatable {
    public var publicKey: String
    public var secretKey: String
    public var region: String

    public init(publicKey: String, secretKey: String, region: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.region = region
    }
}

/// How hard the client tries before giving up on a request.
public struct DattoRetryPolicy: Sendable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int
    /// Backoff for 5xx and timeouts: base, doubled each attempt, capped.
    public var backoffBase: Duration
    public var backoffCap: Duration
    /// Longest `Retry-After` honoured; a longer one ends the attempt (the next poll retries).
    public var retryAfterCap: Duration

    public init(
        maxAttempts: Int = 4, backoffBase: Duration = .seconds(5), backoffCap: Duration = .seconds(30),
        retryAfterCap: Duration = .seconds(60)
    ) {
        self.maxAttempts = maxAttempts
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.retryAfterCap = retryAfterCap
    }
}

/// The Datto BCDR Partner API over URLSession (libcurl on Linux): HTTP Basic with the key pair, JSON,
/// pagination, tolerant decoding, a per-key request budget, and retries for 429, 5xx and timeouts (GET only:
/// the client only ever reads).
public final class DattoClient: Sendable {
    public let baseURL: URL
    let credentials: DattoCredentials
    let limiter: RequestRateLimiter
    let timeout: Duration
    let retry: DattoRetryPolicy
    let session: BoundedHTTPSession
    let logger: Logger
    private let requestCount = Mutex(0)

    public init(
        baseURL: URL, credentials: DattoCredentials, limiter: RequestRateLimiter, timeout: Duration = .seconds(30),
        retry: DattoRetryPolicy = DattoRetryPolicy(), maxResponseBytes: Int = 64 << 20, logger: Logger
    ) {
        self.baseURL = baseURL
        self.credentials = credentials
        self.limiter = limiter
        self.timeout = timeout
        self.retry = retry
        self.logger = logger
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Self.seconds(timeout)
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        session = BoundedHTTPSession(configuration: configuration, maxResponseBytes: maxResponseBytes)
    }

    /// HTTP requests made so far, retries included.
    public var requestsMade: Int { requestCount.withLock { $0 } }

    /// How many BCDR devices the key can see (the Test button), on the best evidence the answer gives:
    /// `pagination.count`; else pages × page size (one device a page was asked for); else the devices in the
    /// answer, which is only a lower bound (`atLeast`).
    public func visibleDeviceCount() async throws -> (count: Int, atLeast: Bool) {
        let page: DattoPage<DattoDevice> = try await get(
            "/bcdr/device", query: [("_page", "1"), ("_perPage", "1"), ("showHiddenDevices", "1")])
        if let count = page.pagination.count, count > 0 || page.items.isEmpty { return (count, false) }
        if page.pagination.perPage > 0, page.pagination.totalPages > 0 {
            let (bound, overflow) = page.pagination.totalPages.multipliedReportingOverflow(by: page.pagination.perPage)
            if !overflow, bound >= page.items.count {
                // With a page size of 1 as asked, pages × 1 is the count; a larger page size makes it a bound.
                return (bound, page.pagination.perPage != 1)
            }
        }
        return (page.items.count, true)
    }

    /// Every device, hidden ones included (they are carried with their flag), page by page.
    public func devices(perPage: Int = 100) async throws -> [DattoDevice] {
        var devices: [DattoDevice] = []
        var page = 1
        while true {
            let result: DattoPage<DattoDevice> = try await get(
                "/bcdr/device",
                query: [
                    ("_page", String(page)), ("_perPage", String(perPage)), ("showHiddenDevices", "1"),
                    ("showChildResellerDevices", "1")
                ])
            devices += result.items
            reportSkipped(result.skipped, path: "/bcdr/device")
            // A page whose items were all unreadable still had items: keep paging.
            if page >= result.pagination.totalPages || (result.items.isEmpty && result.skipped.count == 0) { break }
            page += 1
        }
        return devices
    }

    /// One device (`GET /bcdr/device/{serial}`, no envelope).
    public func device(serialNumber: String) async throws -> DattoDevice {
        let escaped = serialNumber.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? serialNumber
        return try await get("/bcdr/device/\(escaped)", query: [])
    }

    /// A device's agents and shares with their recent backups, whatever shape `/asset` comes in.
    public func assets(serialNumber: String) async throws -> [DattoAsset] {
        let escaped = serialNumber.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? serialNumber
        let list: DattoAssetList = try await get("/bcdr/device/\(escaped)/asset", query: [])
        reportSkipped(list.skipped, path: "/bcdr/device/{serial}/asset")
        return list.assets
    }

    /// The key's SaaS Protection customers (a 403 means the key has no SaaS scope: the caller says so).
    public func saasDomains() async throws -> [DattoSaaSDomain] {
        let list: DattoSaaSDomainList = try await get("/saas/domains", query: [])
        reportSkipped(list.skipped, path: "/saas/domains")
        return Array(list.domains.prefix(2_000))
    }

    /// One SaaS customer's applications with their recent backups.
    public func saasApplications(saasCustomerId: Int64) async throws -> [DattoSaaSApplication] {
        let answer: DattoSaaSApplications = try await get("/saas/\(saasCustomerId)/applications", query: [("daysUntil", "10")])
        return answer.applications
    }

    /// The most pages of the Endpoint Backup list read (100 endpoints a page).
    public static let endpointPageLimit = 20

    /// Every Endpoint Backup (Direct-to-Cloud) agent the key sees, page by page: at most `maxPages` (nil:
    /// `endpointPageLimit`).
    public func endpointAssets(maxPages: Int? = nil) async throws -> [DattoEndpointAsset] {
        var assets: [DattoEndpointAsset] = []
        for page in 1...max(1, min(maxPages ?? Self.endpointPageLimit, Self.endpointPageLimit)) {
            let list: DattoEndpointAssetList = try await get("/dtc/assets", query: [("_page", String(page)), ("_perPage", "100")])
            assets += list.assets
            reportSkipped(list.skipped, path: "/dtc/assets")
            if page >= list.totalPages || list.assets.isEmpty { break }
        }
        return assets
    }

    /// Datto's own alerts on a device, page by page (100 a page, at most five pages: 500 alerts).
    public func deviceAlerts(serialNumber: String) async throws -> [DattoDeviceAlert] {
        let escaped = serialNumber.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? serialNumber
        var alerts: [DattoDeviceAlert] = []
        for page in 1...5 {
            let result: DattoPage<DattoDeviceAlert> = try await get("/bcdr/device/\(escaped)/alert", query: [("_page", String(page))])
            alerts += result.items
            reportSkipped(result.skipped, path: "/bcdr/device/{serial}/alert")
            if page >= result.pagination.totalPages || result.items.isEmpty { break }
        }
        return Array(alerts.prefix(500))
    }

    /// Items Datto sent that could not be read are kept out of what is published, and said so in the log.
    private func reportSkipped(_ skipped: SkippedItems, path: String) {
        guard skipped.count > 0 else { return }
        logger.warning(
            "Datto items could not be read; skipped",
            metadata: ["path": "\(path)", "skipped": "\(skipped.count)", "error": "\(UpstreamText.sanitized(skipped.firstProblem ?? ""))"])
    }

    // MARK: Requests

    func get<T: Decodable>(_ path: String, query: [(String, String)]) async throws -> T {
        let data = try await fetch(path, query: query)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw DattoError.malformed(path, detail: Self.describe(decodingError: error, bytes: data.count))
        }
    }

    /// The latest screenshot verification image of an agent (`…/asset/{volume}/screenshot/latest`): PNG or JPEG
    /// bytes, checked by their signature (not by Datto's content type), at most 8 MiB.
    public func latestScreenshot(serialNumber: String, volume: String) async throws -> (data: Data, contentType: String) {
        let serial = serialNumber.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? serialNumber
        let escaped = volume.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? volume
        let path = "/bcdr/device/\(serial)/asset/\(escaped)/screenshot/latest"
        let data = try await fetch(path, query: [], accept: "image/png, image/jpeg")
        guard data.count <= 8 << 20 else { throw DattoError.tooLarge(path, limit: 8 << 20) }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return (data, "image/png") }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) { return (data, "image/jpeg") }
        throw DattoError.malformed(path, detail: "the answer is not a PNG or JPEG image (\(data.count) bytes)")
    }

    private func fetch(_ path: String, query: [(String, String)], accept: String = "application/json") async throws -> Data {
        var components = URLComponents(url: baseURL.appendingPathComponent(String(path.dropFirst())), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        var request = URLRequest(url: components.url!)
        request.httpMethod = "GET"
        request.timeoutInterval = Self.seconds(timeout)
        let pair = Data("\(credentials.publicKey):\(credentials.secretKey)".utf8).base64EncodedString()
        request.setValue("Basic \(pair)", forHTTPHeaderField: "Authorization")
        request.setValue(accept, forHTTPHeaderField: "Accept")

        var attempt = 0
        while true {
            attempt += 1
            let slot = try await limiter.acquire()
            requestCount.withLock { $0 += 1 }
            let data: Data
            let response: URLResponse
            let answer: Result<(Data, URLResponse), any Error>
            do { answer = .success(try await session.data(for: request)) } catch { answer = .failure(error) }
            await limiter.answered(slot)
            do {
                (data, response) = try answer.get()
            } catch let error as ResponseTooLarge {
                throw DattoError.tooLarge(path, limit: error.limit)
            } catch let error as URLError {
                switch error.code {
                case .timedOut:
                    if attempt < retry.maxAttempts {
                        try await backoff(attempt, path, reason: "timeout")
                        continue
                    }
                    throw DattoError.timeout(path, seconds: Self.seconds(timeout))
                case .cannotFindHost, .dnsLookupFailed:
                    throw DattoError.unreachable(path, host: baseURL.host ?? "?", detail: "host name not found")
                default:
                    if attempt < retry.maxAttempts, [.cannotConnectToHost, .networkConnectionLost].contains(error.code) {
                        try await backoff(attempt, path, reason: "connection failed")
                        continue
                    }
                    throw DattoError.unreachable(path, host: baseURL.host ?? "?", detail: Self.describe(error))
                }
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            switch status {
            case 200..<300:
                return data
            case 401:
                throw DattoError.unauthorized(path)
            case 403:
                throw DattoError.forbidden(path)
            case 404:
                throw path == "/bcdr/device" ? DattoError.wrongRegion(path) : DattoError.notFound(path)
            case 429:
                let wait = Self.retryAfter(response) ?? min(retry.backoffCap, retry.backoffBase * (1 << (attempt - 1)))
                guard attempt < retry.maxAttempts, wait <= retry.retryAfterCap else {
                    throw DattoError.rateLimited(path, attempts: attempt)
                }
                logger.notice(
                    "Datto rate limit; waiting as asked",
                    metadata: ["endpoint": "\(path)", "retryAfter": "\(wait)", "attempt": "\(attempt)"])
                try await Task.sleep(for: wait)
            case 408, 500...599:
                guard attempt < retry.maxAttempts else {
                    throw DattoError.serverError(path, status: status, attempts: attempt)
                }
                try await backoff(attempt, path, reason: "HTTP \(status)")
            default:
                throw DattoError.unexpectedStatus(path, status: status)
            }
        }
    }

    private func backoff(_ attempt: Int, _ path: String, reason: String) async throws {
        let wait = min(retry.backoffCap, retry.backoffBase * (1 << (attempt - 1)))
        logger.notice(
            "Datto request failed; retrying", metadata: ["endpoint": "\(path)", "reason": "\(reason)", "wait": "\(wait)"])
        try await Task.sleep(for: wait)
    }

    /// `Retry-After` as seconds or an HTTP date, clamped to a day: `Int(Double)` traps on a hostile `1e20`, and
    /// anything beyond the cap ends the attempt anyway.
    static func retryAfter(_ response: URLResponse) -> Duration? {
        guard let value = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Retry-After"), value.utf8.count < 64 else {
            return nil
        }
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)) { return clampedWait(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return clampedWait(date.timeIntervalSinceNow)
    }

    /// Seconds as a wait between 0 and a day; not a number → nil.
    static func clampedWait(_ seconds: Double) -> Duration? {
        guard !seconds.isNaN else { return nil }
        return .milliseconds(Int64(min(max(0, seconds), 86_400) * 1_000))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func describe(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: "connection refused"
        case .networkConnectionLost: "connection lost"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate: "TLS failed"
        default: "URL error \(error.code.rawValue)"
        }
    }

    static func describe(decodingError error: Error, bytes: Int) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty:
            "\(bytes) bytes that are not JSON, or JSON cut short"
        case DecodingError.keyNotFound(let key, _):
            "missing \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.dataCorrupted(let context):
            "unexpected value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default:
            "unreadable body"
        }
    }
}
