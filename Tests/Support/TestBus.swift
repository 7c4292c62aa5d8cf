import BusService
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import VectisBus
import VectisContracts
import VectisRuntime
import ZeroMQ

/// A real `vectis-bus` proxy on ephemeral loopback ports, in this process.
///
/// It runs CURVE by default, as `make run` and compose do: a fresh key folder with a pair per identity, and each
/// part connects as the identity it plays (`configuration(as:)`), so the bus's ownership checks apply to tests too.
/// Tests of the delivery protocol itself (arbitrary streams and topics) ask for `.development` explicitly.
public struct TestBus {
    public enum Security: Sendable {
        /// CURVE with a key pair per identity and the bus's ownership table enforced.
        case curve
        /// The explicit development mode: plain TCP, every peer anonymous.
        case development
    }

    public let proxy: BusProxy
    public let endpoints: BusProxy.BoundEndpoints
    public let metrics: ServiceMetrics
    /// Every identity's keys when the bus runs CURVE from a key folder; nil in development mode.
    public let keys: BusKeyDirectory?

    /// The bus as a tap sees it (subscribe and probe only when CURVE is on).
    public var configuration: BusConfiguration { configuration(as: BusOwnership.tap) }

    /// The bus as `identity` (a service name or `tap`) connects to it.
    public func configuration(as identity: String) -> BusConfiguration {
        var configuration = BusConfiguration(
            publishEndpoint: endpoints.publish, subscribeEndpoint: endpoints.subscribe, tapEndpoint: endpoints.tap)
        if let keys {
            do {
                configuration.curve = try keys.clientKeys(identity: identity)
            } catch {
                preconditionFailure("no bus keys for identity \(identity): \(error)")
            }
        }
        return configuration
    }

    public static var quietLogger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Runs `body` with a bus up, then stops the bus. With `curveSecretKey`, the bus uses that key and
    /// `allowedClients` as given (tests of CURVE itself); otherwise `security` decides.
    public static func with<T>(
        _ security: Security = .curve, maxFrameBytes: Int64? = nil, curveSecretKey: String? = nil,
        allowedClients: [String: String] = [:], _ body: (TestBus) async throws -> T
    ) async throws -> T {
        var keys: BusKeyDirectory?
        var secretKey = curveSecretKey
        var allowed = allowedClients
        if curveSecretKey == nil, security == .curve {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-bus-keys-\(UUID().uuidString)").path
            try BusKeyDirectory.create(at: path)
            let directory = BusKeyDirectory(path: path)
            keys = directory
            secretKey = try directory.serverSecretKey
            allowed = try directory.allowList
        }
        let metrics = ServiceMetrics()
        let proxy = BusProxy(
            configuration: BusServerConfiguration(
                publishBind: "tcp://127.0.0.1:*", subscribeBind: "tcp://127.0.0.1:*", tapBind: "tcp://127.0.0.1:*",
                httpPort: 0, maxFrameBytes: maxFrameBytes, statisticsIntervalMilliseconds: 100, curveSecretKey: secretKey,
                allowedClients: allowed),
            metricsFactory: metrics.factory, logger: quietLogger)
        let group = ServiceGroup(services: [proxy], gracefulShutdownSignals: [], logger: quietLogger)
        return try await withRunning(group) {
            try await body(TestBus(proxy: proxy, endpoints: try await proxy.endpoints(), metrics: metrics, keys: keys))
        }
    }
}

/// Drains a subscriber in the background so tests can wait for what they expect without cancelling the stream
/// (cancelling the task that iterates a subscriber ends its stream for good, as it would in a service).
public final class TestInbox: Sendable {
    private final class Store: Sendable {
        let received = Mutex<[ReceivedEvent]>([])
    }

    private let store = Store()

    public init(_ subscriber: BusSubscriber) {
        let store = self.store
        Task {
            for await batch in subscriber.batches {
                store.received.withLock { $0 += batch }
            }
        }
    }

    public var events: [ReceivedEvent] { store.received.withLock { $0 } }

    /// Waits until `done` holds for everything received so far, or the timeout passes (recorded as an issue).
    @discardableResult
    public func wait(
        timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
        until done: ([ReceivedEvent]) -> Bool
    ) async -> [ReceivedEvent] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = events
            if done(current) { return current }
            try? await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for messages", sourceLocation: sourceLocation)
        return events
    }

    /// Whether `done` holds within `timeout`, without recording an issue.
    public func holds(within timeout: Duration, _ done: ([ReceivedEvent]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if done(events) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return done(events)
    }
}

extension BackupJobRecorded {
    public static func sample(_ id: Int64, status: Status = .failure) -> BackupJobRecorded {
        BackupJobRecorded(
            jobId: id, deviceSerial: "A1B2C3D4E5F6", agentVolume: "vol-\(id % 7)", agentName: "ACME-DC01",
            customer: CustomerRef(key: "org:1", name: "Acme"), runAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(id)),
            status: status, rawStatus: status.rawValue, errorMessage: status == .failure ? "BKP0615" : nil,
            night: "2026-09-21", failedNightsInARow: 1)
    }
}

extension Environment {
    /// Variables for a test of one part, on the bus's explicit development mode (no CURVE keys needed).
    public static func development(_ values: [String: String]) -> Environment {
        Environment(values.merging(["VECTIS_BUS_INSECURE": "1"]) { given, _ in given })
    }
}
