import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `vectis-bench grid`: how fast `vectis-backups` answers the status grid, the success rates and the dashboard
/// once months of history are recorded — one large customer (100 agents × 90 nights by default) inside a fleet.
struct GridBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grid", abstract: "Answer times of the status grid, success rates and dashboard over 90 nights of history.")

    @Option(help: "Agents of the customer whose grid is read.") var agents = 100
    @Option(help: "Other agents in the fleet, spread over 200 customers.") var fleetAgents = 2_000
    @Option(help: "Nights of history, one run a night per agent.") var nights = 90
    @Option(help: "Requests per endpoint measured.") var requests = 50

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let system = try await SystemProcesses(services: ["backups"])
        defer { system.stop() }
        let directory = system.state.appendingPathComponent("stand-in")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let collector = try ReliableBenchmark.Node(
            bus: try system.busConfiguration(as: BusOwnership.collector), service: BusOwnership.collector, instance: "stand-in",
            path: directory.appendingPathComponent("collector.sqlite").path, subscriptions: [], logger: logger)
        let group = ServiceGroup(services: collector.bus.services, gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await group.run() }
        _ = await collector.bus.connection.publisher.waitUntilReady()

        // History: one run a night at 01:00 for `nights` nights before tonight; every tenth agent fails a third of them.
        let midnight = (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        let big = CustomerRef(key: "org:big", name: "Big Customer")
        let total = (agents + fleetAgents) * nights
        let started = ContinuousClock.now
        for night in 0..<nights {
            let runAt = Date(timeIntervalSince1970: midnight - Double(nights - night) * 86_400 + 3_600)
            try await collector.database.write { [outbox = collector.bus.outbox, agents, fleetAgents] db in
                for agent in 0..<(agents + fleetAgents) {
                    let customer = agent < agents ? big : CustomerRef(key: "org:\(agent % 200)", name: "Customer \(agent % 200)")
                    let failing = agent % 10 == 0 && night % 3 == 0
                    try outbox.append(
                        BackupRunObserved(
                            deviceSerial: "GRID\(agent / 10)", agentVolume: "agent-\(agent)", agentName: "SRV-\(agent)", customer: customer,
                            runAt: runAt, rawStatus: failing ? "failure" : "success",
                            errorMessage: failing ? "BKP0615 Backup skipped due to not enough free space" : nil),
                        tenant: "default", customerKey: customer.key, in: db)
                }
            }
        }
        while await SystemProcesses.metric(system.url("backups"), "vectis_bus_applied_total") < Double(total) {
            try await Task.sleep(for: .milliseconds(100))
        }
        print(
            String(
                format: "history: %d agents (%d in one customer) × %d nights = %d runs recorded in %.1f s",
                agents + fleetAgents, agents, nights, total, seconds(started.duration(to: .now))))

        let customerId = StableID.customer(tenant: "default", key: big.key)
        let base = system.url("backups")
        for (label, path) in [
            ("grid, \(agents) agents × \(nights) nights", "/v1/customers/\(customerId)/grid?days=\(min(90, nights))"),
            ("grid, \(agents) agents × 30 nights", "/v1/customers/\(customerId)/grid?days=30"),
            ("success rates, every customer, 90 nights", "/v1/success-rates?nights=90"),
            ("dashboard (fleet), 30 nights", "/v1/fleet?nights=30")
        ] {
            var times: [Double] = []
            var bytes = 0
            for _ in 0..<requests {
                var request = URLRequest(url: URL(string: base + path)!)
                request.setValue("Bearer \(system.token)", forHTTPHeaderField: "Authorization")
                let begin = ContinuousClock.now
                let (data, response) = try await URLSession.shared.data(for: request)
                times.append(seconds(begin.duration(to: .now)) * 1_000)
                guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw ValidationError("\(path) answered \(response)") }
                bytes = data.count
            }
            times.sort()
            print(
                String(
                    format: "%@: median %.1f ms, p95 %.1f ms, %d KB per answer (%d requests over HTTP on loopback)",
                    label, times[times.count / 2], times[min(times.count - 1, times.count * 95 / 100)], bytes / 1_024, requests))
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }
}
