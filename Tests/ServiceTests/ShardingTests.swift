import BackupsService
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Testing
import VectisContracts
import VectisRuntime
import VectisTestSupport

@Suite("Sharding consumers by tenant")
struct ShardingTests {
    @Test("two shards of vectis-backups on one bus record every job exactly once between them, each only its tenants'")
    func twoShards() async throws {
        try await TestBus.with { bus in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-shards-\(UUID().uuidString)")
            var shards: [(application: any Service, database: String, metricsURL: String)] = []
            for index in 1...2 {
                var runtime = RuntimeConfiguration(
                    service: "backups", instance: "shard-\(index)", httpPort: try freePort(), bus: bus.configuration(as: "backups"),
                    dataDirectory: directory.appendingPathComponent("shard-\(index)").path)
                runtime.shard = ShardAssignment(index: index, count: 2)
                runtime.delivery.heartbeatInterval = .milliseconds(300)
                let application = try BackupsService.buildApplication(BackupsConfiguration(runtime: runtime), logger: TestBus.quietLogger)
                    .application
                shards.append((application, runtime.databasePath, "http://127.0.0.1:\(runtime.httpPort)/metrics"))
            }
            let group = ServiceGroup(services: shards.map(\.application), gracefulShutdownSignals: [], logger: TestBus.quietLogger)
            try await withRunning(group) {
                // A collector stand-in publishes runs for twenty tenants through its outbox.
                let collector = try ReliableNode(bus, service: "collector", instance: "collector-stand-in")
                #expect(await collector.waitUntilReady())
                let tenants = (1...20).map { "msp-\($0)" }
                let runsPerTenant = 25
                try await collector.database.write { [outbox = collector.bus.outbox] db in
                    for tenant in tenants {
                        for run in 0..<runsPerTenant {
                            try outbox.append(
                                BackupRunObserved(
                                    deviceSerial: "DEV-\(tenant)", agentVolume: "vol-\(run % 5)", agentName: "SRV-\(run % 5)",
                                    customer: CustomerRef(key: "org:1", name: "Customer of \(tenant)"),
                                    runAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(run) * 3_600),
                                    rawStatus: run % 4 == 0 ? "failure" : "success"),
                                tenant: tenant, customerKey: "org:1", in: db)
                        }
                    }
                }
                let total = tenants.count * runsPerTenant
                func rows(_ path: String) async throws -> [(tenant: String, key: String)] {
                    try await BackupsFile(path).runs().map {
                        ($0.tenant, "\($0.tenant)/\($0.deviceSerial)/\($0.agentVolume)/\($0.runAt.timeIntervalSince1970)")
                    }
                }
                #expect(
                    try await eventually(timeout: .seconds(30)) {
                        try await rows(shards[0].database).count + rows(shards[1].database).count == total
                    })
                let first = try await rows(shards[0].database)
                let second = try await rows(shards[1].database)
                #expect(Set(first.map(\.key)).isDisjoint(with: Set(second.map(\.key))), "no job recorded twice")
                #expect(Set(first.map(\.key)).union(second.map(\.key)).count == total, "every job recorded")
                #expect(!first.isEmpty && !second.isEmpty)
                for (index, shardRows) in [first, second].enumerated() {
                    #expect(
                        shardRows.allSatisfy { Shard.bucket(tenant: $0.tenant) % 2 == index }, "shard \(index + 1) owns only its tenants")
                }
                // The filtering happened before the shards: each received fewer run messages than were published.
                for shard in shards {
                    let metrics = try await HTTP.send("GET", shard.metricsURL).body
                    let applied =
                        metrics.split(separator: "\n").first { $0.hasPrefix("vectis_bus_applied_total ") }
                        .flatMap { Double($0.split(separator: " ").last!) } ?? 0
                    #expect(applied > 0 && applied < Double(total))
                }
                try await collector.stop()
            }
        }
    }

    @Test("VECTIS_SHARD is read as i/n and refused when it is not")
    func configuration() throws {
        let shard = try RuntimeConfiguration(
            service: "backups", defaultHTTPPort: 8083, environment: Environment.development(["VECTIS_SHARD": "2/3"])
        ).shard
        #expect(shard == ShardAssignment(index: 2, count: 3))
        for bad in ["0/3", "4/3", "two/three", "1/0"] {
            #expect(throws: ConfigurationError.self) {
                try RuntimeConfiguration(
                    service: "backups", defaultHTTPPort: 8083, environment: Environment.development(["VECTIS_SHARD": bad]))
            }
        }
        #expect(
            Set(Shard.owned(index: 1, of: 3)).union(Shard.owned(index: 2, of: 3)).union(Shard.owned(index: 3, of: 3)).count == Shard.buckets
        )
    }
}
