import Foundation
import HTTPTypes
import Hummingbird

/// The emulated Datto BCDR API under `/v1` (the account's region) and `/eu/v1` (the other region).
struct DattoAPIController {
    let state: SandboxState

    func addRoutes(to router: Router<BasicRequestContext>) {
        for (prefix, region) in [("v1", "us"), ("eu/v1", "eu")] {
            let group = router.group(RouterPath(prefix))
            group.get("bcdr/device") { request, context in
                try await respond(request, context, region: region, isDeviceList: true) { fault in
                    try devices(request, fault: fault)
                }
            }
            group.get("bcdr/device/:serial") { request, context in
                try await respond(request, context, region: region) { _ in
                    try device(context.parameters.require("serial"))
                }
            }
            for filter in ["", "/agent", "/share"] {
                group.get(RouterPath("bcdr/device/:serial/asset" + filter)) { request, context in
                    try await respond(request, context, region: region) { fault in
                        try assets(
                            context.parameters.require("serial"), kind: filter.isEmpty ? nil : String(filter.dropFirst()),
                            volume: nil, fault: fault)
                    }
                }
            }
            group.get("bcdr/device/:serial/asset/:volume") { request, context in
                try await respond(request, context, region: region) { fault in
                    try assets(
                        context.parameters.require("serial"), kind: nil, volume: context.parameters.require("volume"),
                        fault: fault)
                }
            }
            group.get("bcdr/device/:serial/asset/:volume/screenshot/latest") { request, context in
                try await respond(request, context, region: region) { _ in
                    try screenshot(context.parameters.require("serial"), volume: context.parameters.require("volume"))
                }
            }
            group.get("bcdr/device/:serial/alert") { request, context in
                try await respond(request, context, region: region) { fault in
                    try alerts(context.parameters.require("serial"), request, fault: fault)
                }
            }
            group.get("dtc/assets") { request, context in
                try await respond(request, context, region: region) { fault in endpointAssets(request, fault: fault) }
            }
            group.get("saas/domains") { request, context in
                try await respond(request, context, region: region) { fault in try saasDomains(fault: fault) }
            }
            group.get("saas/:id/applications") { request, context in
                try await respond(request, context, region: region) { fault in
                    try saasApplications(Int(context.parameters.require("id")) ?? -1, fault: fault)
                }
            }
            // Any other route: Datto's Symfony edge answers 404 whatever the credentials.
            group.get("**") { _, _ in notFound() }
        }
    }

    // MARK: Responses

    func devices(_ request: Request, fault: SandboxFault?) throws -> Response {
        let page = max(1, request.uri.queryParameters.get("_page", as: Int.self) ?? 1)
        let perPage = min(250, max(1, request.uri.queryParameters.get("_perPage", as: Int.self) ?? 100))
        let showHidden = request.uri.queryParameters.get("showHiddenDevices", as: Int.self) ?? 1
        let now = state.now
        let start = state.configuration.fleet.start
        let body: [String: Any] = state.fleet.withLock { fleet in
            let visible = fleet.devices.filter { showHidden == 1 || !$0.hidden }
            let totalPages = visible.isEmpty ? 0 : (visible.count + perPage - 1) / perPage
            let slice = visible.dropFirst((page - 1) * perPage).prefix(perPage)
            return [
                "pagination": ["page": page, "perPage": perPage, "totalPages": totalPages, "count": visible.count],
                "items": slice.map { DattoJSON.device($0, fleet: fleet, now: now, start: start) }
            ]
        }
        return json(body, fault: fault)
    }

    func device(_ serial: String) -> Response {
        let now = state.now
        let start = state.configuration.fleet.start
        let body: [String: Any]? = state.fleet.withLock { fleet in
            fleet.devices.first { $0.serialNumber == serial }.map { DattoJSON.device($0, fleet: fleet, now: now, start: start) }
        }
        return body.map { json($0) } ?? notFound()
    }

    /// The latest screenshot verification as image bytes: a green screen when the last backup booted, a blue one
    /// when it did not; 404 for an agent never verified.
    func screenshot(_ serial: String, volume: String) -> Response {
        let now = state.now
        let start = state.configuration.fleet.start
        let boots: Bool? = state.fleet.withLock { fleet in
            guard let device = fleet.devices.first(where: { $0.serialNumber == serial }),
                let asset = device.assets.first(where: { $0.volume == volume }), asset.kind == .agent,
                let lastSuccess = fleet.visibleRuns(of: asset, on: device, now: now, start: start).first(where: { $0.succeeded })
            else { return nil }
            return asset.screenshotBoots(lastSuccess.timestamp)
        }
        guard let boots else { return notFound() }
        let image = Data(base64Encoded: boots ? Self.bootedScreen : Self.blueScreen) ?? Data()
        return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: image)))
    }

    static let bootedScreen =
        "iVBORw0KGgoAAAANSUhEUgAAACAAAAAYCAIAAAAUMWhjAAAAJElEQVR42mPQ6LGhKWIYtWDUglELRi0YtWDUglELRi0YGhYAAEzu0B+BhZysAAAAAElFTkSuQmCC"
    static let blueScreen =
        "iVBORw0KGgoAAAANSUhEUgAAACAAAAAYCAIAAAAUMWhjAAAAJElEQVR42mMQsTlBU8QwasGoBaMWjFowasGoBaMWjFowNCwAACzOSC6hjj/1AAAAAElFTkSuQmCC"

    /// Endpoint Backup agents in the paged envelope, each with its `last10Backups`.
    func endpointAssets(_ request: Request, fault: SandboxFault?) -> Response {
        let page = max(1, request.uri.queryParameters.get("_page", as: Int.self) ?? 1)
        let perPage = min(250, max(1, request.uri.queryParameters.get("_perPage", as: Int.self) ?? 100))
        let now = state.now
        let body: [String: Any] = state.fleet.withLock { fleet in
            let items = fleet.endpoints.map { endpoint -> [String: Any] in
                let customer = fleet.customers[endpoint.customer]
                let device = SandboxDevice(
                    serialNumber: "dtc", name: "", model: "", customer: endpoint.customer, hidden: false, internalIP: "", localUsedGB: 0,
                    localAvailableGB: 0, offsiteUsedGB: 0, assets: [])
                let runs = fleet.runs(of: endpoint.asset, on: device, now: now)
                return [
                    "assetUuid": endpoint.asset.volume, "name": endpoint.asset.name, "type": "Windows", "status": "active",
                    "organizationId": customer.organizationId.map { $0 as Any } ?? NSNull(),
                    "organizationName": customer.name.map { $0 as Any } ?? NSNull(),
                    "lastBackup": runs.first.map { Int($0.timestamp.timeIntervalSince1970) } ?? 0,
                    "backupStateSuccessful": runs.first?.succeeded ?? false,
                    "last10Backups": runs.prefix(10).map {
                        [
                            "timestamp": Int($0.timestamp.timeIntervalSince1970), "backupStatus": $0.succeeded,
                            "screenshotSuccess": $0.succeeded
                        ]
                            as [String: Any]
                    }
                ]
            }
            let totalPages = items.isEmpty ? 0 : (items.count + perPage - 1) / perPage
            return [
                "pagination": ["page": page, "perPage": perPage, "totalPages": totalPages, "count": items.count],
                "items": Array(items.dropFirst((page - 1) * perPage).prefix(perPage))
            ]
        }
        return json(body, fault: fault)
    }

    /// SaaS Protection customers: a bare array, as Datto sends it; 403 for a key without the SaaS scope.
    func saasDomains(fault: SandboxFault?) -> Response {
        let body: [[String: Any]]? = state.fleet.withLock { fleet in
            guard !fleet.saasForbidden else { return nil }
            return fleet.saasDomains.map { domain in
                let customer = fleet.customers[domain.customer]
                return [
                    "saasCustomerId": domain.saasCustomerId, "saasCustomerName": customer.name ?? domain.domain, "domain": domain.domain,
                    "organizationId": customer.organizationId.map { $0 as Any } ?? NSNull(),
                    "organizationName": customer.organizationId != nil ? (customer.name as Any? ?? NSNull()) : NSNull(),
                    "seatsUsed": 25, "productType": "Microsoft365", "externalSubscriptionId": "sub-\(domain.saasCustomerId)",
                    "retentionType": "TBR",
                    "backupStats": ["activeServicesCount": 3, "activeServicesWithRecentBackupCount": 3, "backupPercentage": 100]
                ] as [String: Any]
            }
        }
        guard let body else { return error(403, "Forbidden") }
        return json(body, fault: fault)
    }

    /// One SaaS customer's applications with their backup history (`suites[].appTypes[].backupHistory[]`).
    func saasApplications(_ id: Int, fault: SandboxFault?) -> Response {
        let now = state.now
        let body: [String: Any]?? = state.fleet.withLock { fleet in
            guard !fleet.saasForbidden else { return .some(nil) }
            guard let domain = fleet.saasDomains.first(where: { $0.saasCustomerId == id }) else { return nil }
            let device = domain.device
            let appTypes = domain.applications.map { app in
                [
                    "appType": app.name,
                    "backupHistory": fleet.runs(of: app, on: device, now: now).map { run in
                        [
                            "status": run.succeeded ? "Success" : "Failed", "startTime": Int(run.timestamp.timeIntervalSince1970),
                            "endTime": Int(run.timestamp.timeIntervalSince1970) + 1_800,
                            "errorMessage": run.errorMessage.map { $0 as Any } ?? NSNull()
                        ] as [String: Any]
                    }
                ] as [String: Any]
            }
            return .some(["suites": [["suiteType": "Microsoft365", "appTypes": appTypes]]])
        }
        switch body {
        case nil: return notFound()
        case .some(nil): return error(403, "Forbidden")
        case .some(let object?): return json(object, fault: fault)
        }
    }

    /// The device's alerts, paged like every list (`_page`; 100 a page).
    func alerts(_ serial: String, _ request: Request, fault: SandboxFault?) -> Response {
        let page = max(1, request.uri.queryParameters.get("_page", as: Int.self) ?? 1)
        let perPage = 100
        let listed: [SandboxDeviceAlert]? = state.fleet.withLock { $0.devices.first { $0.serialNumber == serial }?.alerts }
        guard let listed else { return notFound() }
        let totalPages = listed.isEmpty ? 0 : (listed.count + perPage - 1) / perPage
        return json(
            [
                "pagination": ["page": page, "perPage": perPage, "totalPages": totalPages, "count": listed.count],
                "items": listed.dropFirst((page - 1) * perPage).prefix(perPage).map(DattoJSON.alert)
            ], fault: fault)
    }

    func exists(_ serial: String) -> Bool {
        state.fleet.withLock { $0.devices.contains { $0.serialNumber == serial } }
    }

    func assets(_ serial: String, kind: String?, volume: String?, fault: SandboxFault?) -> Response {
        let now = state.now
        let start = state.configuration.fleet.start
        let items: [[String: Any]]? = state.fleet.withLock { fleet in
            guard let device = fleet.devices.first(where: { $0.serialNumber == serial }) else { return nil }
            return device.assets
                .filter { kind == nil || $0.kind.rawValue == kind }
                .filter { volume == nil || $0.volume == volume }
                .map { DattoJSON.asset($0, device: device, fleet: fleet, now: now, start: start) }
        }
        guard let items else { return notFound() }
        // A bare array by default; the index-keyed object and the envelope are the other shapes seen live.
        switch fault?.fault {
        case .indexKeyedAssets:
            var object: [String: Any] = [:]
            for (index, item) in items.enumerated() { object[String(index)] = item }
            return json(object)
        case .envelopeAssets:
            return json(["items": items])
        default:
            return json(items, fault: fault)
        }
    }

    // MARK: Authentication, faults, rate counting

    func respond(
        _ request: Request, _ context: BasicRequestContext, region: String, isDeviceList: Bool = false,
        _ body: (SandboxFault?) throws -> Response
    ) async throws -> Response {
        guard let key = authenticatedKey(request) else {
            return error(401, "Unauthorized: invalid API key pair")
        }
        let window = state.configuration.rateWindow
        let inWindow = state.requests.withLock {
            $0.record(key: key.publicKey, surface: DattoSurface(path: request.uri.path), window: window)
        }
        let limit = state.configuration.enforcedRequestsPerMinute
        if limit > 0 && inWindow > limit {
            return rateLimited(retryAfter: Int(window.components.seconds), remaining: 0)
        }
        let path = request.uri.path
        if let fault = state.takeFault(path: path) {
            switch fault.fault {
            case .unauthorized: return error(401, "Unauthorized: invalid API key pair")
            case .forbidden: return error(403, "Forbidden")
            case .wrongRegion: return notFound()
            case .rateLimit: return rateLimited(retryAfter: fault.retryAfterSeconds ?? 2, remaining: 0)
            case .gatewayTimeout: return error(504, "Gateway Timeout")
            case .slow:
                try await Task.sleep(for: .milliseconds(fault.delayMilliseconds ?? 3_000))
                return try body(nil)
            case .malformed:
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: "<html><body>Service Unavailable</body></html>")))
            case .truncated, .indexKeyedAssets, .envelopeAssets:
                return try body(fault)
            case .huge:
                return Self.hugeBody(bytes: fault.bytes ?? 80 << 20)
            case .empty:
                return Response(status: .ok, headers: [.contentType: "application/json"])
            case .wrongShape:
                return json(["pagination": "none", "items": ["serialNumber": 5, "backups": "yes"]])
            case .proxyError:
                return Response(
                    status: .badGateway, headers: [.contentType: "text/html"],
                    body: .init(
                        byteBuffer: ByteBuffer(string: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")))
            case .serverError:
                return error(500, "Internal Server Error")
            }
        }
        if key.scope != .bcdr { return error(403, "Forbidden: this API key has no access to BCDR") }
        // A deliberate local convention (the real API has one host): the other region does not know the account.
        if region != state.configuration.accountRegion { return notFound() }
        return try body(nil)
    }

    func authenticatedKey(_ request: Request) -> SandboxKey? {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))),
            let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else { return nil }
        let publicKey = String(pair[..<colon])
        let secret = String(pair[pair.index(after: colon)...])
        return state.configuration.keys.first { $0.publicKey == publicKey && $0.secretKey == secret }
    }

    func json(_ value: Any, fault: SandboxFault? = nil) -> Response {
        var data = DattoJSON.data(value)
        if fault?.fault == .truncated { data = data.prefix(max(1, data.count / 2)) }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `[` + spaces + `]`, written a MiB at a time with no Content-Length: the client has to count as it reads.
    static func hugeBody(bytes: Int) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody { writer in
                let chunk = ByteBuffer(repeating: UInt8(ascii: " "), count: 1 << 20)
                try await writer.write(ByteBuffer(string: "["))
                var written = 1
                while written < bytes - 1 {
                    try await writer.write(chunk)
                    written += chunk.readableBytes
                }
                try await writer.write(ByteBuffer(string: "]"))
                try await writer.finish(nil)
            })
    }

    func error(_ status: Int, _ message: String) -> Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: DattoJSON.data(["code": status, "message": message]))))
    }

    func notFound() -> Response {
        error(404, "exception.notfoundhttpexception")
    }

    func rateLimited(retryAfter: Int, remaining: Int) -> Response {
        var response = error(429, "API rate limited")
        response.headers[.retryAfter] = String(retryAfter)
        response.headers[HTTPField.Name("X-API-Limit-Remaining")!] = String(remaining)
        response.headers[HTTPField.Name("X-API-Limit-Resets")!] = String(retryAfter)
        response.headers[HTTPField.Name("X-API-Limit-Cost")!] = "1"
        return response
    }
}
