import Hummingbird

/// A named check behind `/readyz`, e.g. "bus" or "database".
public struct ReadinessCheck: Sendable {
    public let name: String
    public let check: @Sendable () async -> Bool

    public init(_ name: String, check: @escaping @Sendable () async -> Bool) {
        self.name = name
        self.check = check
    }
}

/// `/healthz` (the process answers), `/readyz` (its dependencies are usable) and `/metrics` (Prometheus),
/// the same on every service.
public struct HealthController<Context: RequestContext>: Sendable {
    public let service: String
    public let metrics: ServiceMetrics
    public let checks: [ReadinessCheck]

    public init(service: String, metrics: ServiceMetrics, checks: [ReadinessCheck]) {
        self.service = service
        self.metrics = metrics
        self.checks = checks
    }

    public func addRoutes(to router: Router<Context>) {
        router.get("healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok","service":"\#(service)"}"#)))
        }
        router.get("readyz") { _, _ in
            var results: [String] = []
            var allReady = true
            for check in checks {
                let ready = await check.check()
                allReady = allReady && ready
                results.append(#""\#(check.name)":\#(ready)"#)
            }
            let body = #"{"ready":\#(allReady),"service":"\#(service)","checks":{\#(results.joined(separator: ","))}}"#
            return Response(
                status: allReady ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
    }
}
