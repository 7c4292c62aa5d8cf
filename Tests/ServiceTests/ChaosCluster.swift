import Foundation
import VectisBus
import VectisTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The whole system as processes on loopback — the bus and the five services — that a test can SIGKILL and
/// restart one part at a time. Each part keeps its ports and data directory across restarts, as under a
/// supervisor; the delivery counters of every incarnation are read just before it is killed and summed.
actor ChaosCluster {
    enum Part: String, CaseIterable, Sendable { case bus, collector, assets, backups, alerts, rules }

    static let token = "chaos-token-0123456789"
    /// The counters each service's /metrics exposes that say how delivery went.
    static let counterNames = [
        "vectis_bus_applied_total", "vectis_bus_duplicates_skipped_total", "vectis_bus_gaps_detected_total",
        "vectis_bus_replays_requested_total", "vectis_bus_replays_served_total", "vectis_bus_replayed_messages_total",
        "vectis_bus_replay_unavailable_total", "vectis_bus_apply_failures_total", "vectis_bus_dropped_total"
    ]

    private(set) var bus: BusProcess
    private var processes: [Part: RunningProcess] = [:]
    let ports: [Part: Int]
    let dataDirectory: String
    private let environment: [String: String]
    private(set) var kills: [Part: Int] = [:]
    /// Summed over the incarnations of each service: counter name → value.
    private(set) var counters: [Part: [String: Double]] = [:]
    /// Incarnations whose counters could not be read before the kill (it had not opened its port yet).
    private(set) var unreadIncarnations = 0

    /// The bus key folder: the cluster runs the bus as deployed, CURVE-authenticated with per-service identities.
    let keys: String

    init(dattoURL: String) async throws {
        keys = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-chaos-keys-\(UUID().uuidString)").path
        try BusKeyDirectory.create(at: keys)
        bus = try await BusProcess.start(environment: ["VECTIS_BUS_INSECURE": "0", "VECTIS_BUS_KEY_DIR": keys])
        var ports: [Part: Int] = [:]
        for part in Part.allCases where part != .bus { ports[part] = try freePort() }
        self.ports = ports
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-chaos-\(UUID().uuidString)").path
        environment = [
            "VECTIS_BUS_PUBLISH": bus.publish, "VECTIS_BUS_SUBSCRIBE": bus.subscribe, "VECTIS_DATA_DIR": dataDirectory,
            "VECTIS_ADMIN_TOKEN": Self.token, "VECTIS_HEARTBEAT_INTERVAL_MS": "500", "VECTIS_LOG_LEVEL": "warning",
            "VECTIS_BUS_INSECURE": "0", "VECTIS_BUS_KEY_DIR": keys,
            "VECTIS_DATTO_BASE_URL_US": dattoURL, "VECTIS_DATTO_POLL_INTERVAL_SECONDS": "2",
            // The sandbox is ours: lift the per-key budget so a 200-device sync takes seconds, not minutes.
            "VECTIS_DATTO_REQUESTS_PER_MINUTE": "100000", "VECTIS_PSA_TIMEOUT_SECONDS": "5"
        ]
        for part in Part.allCases where part != .bus { try start(part) }
    }

    func url(_ part: Part) -> String { "http://127.0.0.1:\(ports[part] ?? bus.httpPort)" }

    func start(_ part: Part) throws {
        guard part != .bus else { return }
        var environment = self.environment
        environment["VECTIS_HTTP_PORT"] = "\(ports[part]!)"
        processes[part] = try RunningProcess("vectis-\(part.rawValue)", [], environment: environment)
    }

    /// Reads the part's counters, then SIGKILLs it and waits until it is gone.
    func kill(_ part: Part) async {
        kills[part, default: 0] += 1
        if part == .bus {
            bus.process.signal(SIGKILL)
            _ = await bus.process.waitForExit()
            return
        }
        await collectCounters(part)
        processes[part]?.signal(SIGKILL)
        _ = await processes[part]?.waitForExit()
    }

    func restart(_ part: Part) async throws {
        if part == .bus {
            bus = try await bus.restarted(environment: ["VECTIS_BUS_INSECURE": "0", "VECTIS_BUS_KEY_DIR": keys])
        } else {
            try start(part)
        }
    }

    private func collectCounters(_ part: Part) async {
        guard let values = await Self.counters(url(part)) else {
            unreadIncarnations += 1
            return
        }
        for (name, value) in values { counters[part, default: [:]][name, default: 0] += value }
    }

    /// Reads the final incarnations' counters (call once, at the end).
    func collectFinalCounters() async {
        for part in Part.allCases where part != .bus { await collectCounters(part) }
    }

    /// Every delivery counter on the page, labels summed away.
    static func counters(_ base: String) async -> [String: Double]? {
        guard let page = try? await HTTP.send("GET", base + "/metrics"), page.status == 200 else { return nil }
        var values: [String: Double] = [:]
        for line in page.body.split(separator: "\n") where !line.hasPrefix("#") {
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            guard counterNames.contains(name), let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            values[name, default: 0] += value
        }
        return values
    }

    /// Waits until every service answers /readyz (its own heartbeat came back through the bus).
    func waitUntilReady(timeout: Duration = .seconds(90)) async throws {
        let deadline = ContinuousClock.now + timeout
        for part in Part.allCases where part != .bus {
            while (try? await HTTP.send("GET", url(part) + "/readyz").status) != 200 {
                guard ContinuousClock.now < deadline else {
                    throw ProcessFailure("vectis-\(part.rawValue) not ready: \(processes[part]?.stderr.suffix(2_000) ?? "")")
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func stop() async {
        let all = Array(processes.values) + [bus.process]
        for process in all { process.signal(SIGTERM) }
        for process in all where await process.waitForExit(timeout: .seconds(10)) == nil { process.signal(SIGKILL) }
    }
}

/// Seedable, so a chaos run is repeatable from its printed seed.
typealias ChaosRandom = SplitMix64

extension ChaosCluster {
    /// Removes a stopped part's SQLite database (and its WAL files), as an operator re-creating it would.
    func deleteDatabase(_ part: Part) throws {
        for suffix in ["", "-wal", "-shm"] {
            let path = dataDirectory + "/\(part.rawValue).sqlite" + suffix
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }
}
