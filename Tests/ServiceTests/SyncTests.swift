import CollectorService
import DattoSandbox
import Foundation
import GRDB
import Synchronization
import Testing
import VectisAPI
import VectisBus
import VectisContracts
import VectisRuntime
import VectisTestSupport
import ZeroMQ

@Suite("Collector: polling Datto through the outbox", .serialized)
struct SyncTests {
    static let fiftyDevices = FleetConfiguration(
        customers: 7, devicesPerCustomer: 7, agentsPerDevice: 4, sharesPerDevice: 1, unassignedDevices: 1)

    func truthKeys(_ sandbox: SandboxState) -> Set<String> {
        Set(sandbox.visibleRuns().map { "\($0.serialNumber)/\($0.volume)/\(Int($0.timestamp.timeIntervalSince1970))" })
    }

    func consumer(_ harness: CollectorHarness) async throws -> ReliableNode {
        let node = try ReliableNode(
            harness.bus, service: "assets", instance: "observer", subscriptions: [.prefix("datto."), .exact(BackupRunObserved.topic)])
        #expect(await node.waitUntilReady())
        return node
    }

    /// `serial/volume/epoch` of every run the collector published.
    func publishedRunKeys(_ harness: CollectorHarness) async throws -> Set<String> {
        Set(
            try await outboxEvents(harness, BackupRunObserved.self).map { run in
                "\(run.deviceSerial)/\(run.agentVolume)/\(Int(run.runAt.timeIntervalSince1970))"
            })
    }

    /// The events the collector committed to its outbox, decoded as the bus's consumers decode them (its outbox is
    /// the truth of what was published, including what is still on its way).
    func outboxEvents<E: BusEvent>(_ harness: CollectorHarness, _ type: E.Type) async throws -> [E] {
        try await harness.collector.bus.outbox.committed(E.self).map(\.event)
    }

    @Test("a full sync of a 50-device fleet announces every device and agent and every run exactly once; three more polls add no run")
    func fullSync() async throws {
        // A budget high enough for four back-to-back syncs; the budget itself has its own test.
        try await CollectorHarness.with(fleet: Self.fiftyDevices, configure: { $0.requestsPerWindow = 1_000 }) { harness in
            #expect(harness.sandbox.deviceCount == 50)
            let observer = try await consumer(harness)
            try await harness.configure()
            let result = try await harness.sync()
            #expect(result.status == .ok)

            let truth = truthKeys(harness.sandbox)
            let agents = harness.sandbox.assets()
            #expect(agents.contains { !$0.hasRuns }, "the fleet has agents that never backed up")
            #expect(try await eventually { try observer.keys(BackupRunObserved.topic).count >= truth.count })
            let runs = try observer.keys(BackupRunObserved.topic)
            #expect(runs.count == truth.count)
            #expect(Set(runs) == truth, "every run, each exactly once")
            #expect(Set(try observer.keys(DattoDeviceSeen.topic)).count == 50)
            #expect(
                Set(try observer.keys(DattoAgentSeen.topic)) == Set(agents.map { "\($0.serialNumber)/\($0.volume)" }),
                "every agent and share, those without backups included")

            // Flags are carried, and an unassigned device lands on a visible customer.
            let devices = try await outboxEvents(harness, DattoDeviceSeen.self)
            #expect(devices.contains { $0.hidden })
            #expect(devices.contains { $0.customer.name == "Unassigned" })
            #expect(devices.contains { $0.customer.key.hasPrefix("name:") })
            let agentEvents = try await outboxEvents(harness, DattoAgentSeen.self)
            #expect(agentEvents.contains { $0.isPaused })
            #expect(agentEvents.contains { $0.isArchived })

            // Counted in the collector's outbox, not at the observer: configuring already ran one sync, so the
            // observer may still be receiving the first two syncs' announcements at this point.
            let publishedBefore = try await outboxEvents(harness, DattoDeviceSeen.self).count
            for _ in 0..<3 {
                #expect(try await harness.sync().status == .ok)
            }
            let published = try await outboxEvents(harness, DattoDeviceSeen.self).count
            #expect(published == publishedBefore + 150, "each poll re-announces every device")
            // Every announcement arrived, so anything else the polls published has too.
            #expect(try await eventually(timeout: .seconds(60)) { try observer.keys(DattoDeviceSeen.topic).count == published })
            #expect(try observer.keys(BackupRunObserved.topic).count == truth.count)
            #expect(try await outboxEvents(harness, BackupRunObserved.self).count == truth.count)
            try await observer.stop()
        }
    }

    @Test("a new run is published on the next poll, and Datto's request budget is never exceeded")
    func newRunWithinBudget() async throws {
        let fleet = FleetConfiguration(customers: 2, devicesPerCustomer: 3, agentsPerDevice: 3, sharesPerDevice: 1)
        try await CollectorHarness.with(
            fleet: fleet, sandboxWindow: .seconds(2),
            configure: { configuration in
                configuration.requestsPerWindow = 3
                configuration.rateWindow = .seconds(2)
            }
        ) { harness in
            let observer = try await consumer(harness)
            try await harness.configure()
            let started = ContinuousClock.now
            #expect(try await harness.sync().status == .ok)
            // 8 requests at 3 per 2 s cannot take less than 4 s.
            #expect(ContinuousClock.now - started >= .seconds(4))
            let before = truthKeys(harness.sandbox)
            #expect(try await eventually { try observer.keys(BackupRunObserved.topic).count == before.count })

            harness.sandbox.advanceClock(by: 24 * 3_600)
            let after = truthKeys(harness.sandbox)
            let fresh = after.subtracting(before)
            #expect(!fresh.isEmpty)
            #expect(try await harness.sync().status == .ok)
            #expect(try await eventually { try observer.keys(BackupRunObserved.topic).count == before.count + fresh.count })
            #expect(Set(try observer.keys(BackupRunObserved.topic).suffix(fresh.count)) == fresh)
            #expect(harness.sandbox.maxRequestsPerWindow(publicKey: CollectorHarness.key.publicKey) <= 3)
            try await observer.stop()
        }
    }

    @Test(
        "when the budget cannot cover the fleet, a scheduled poll reads the device whose agent is due first, and every device still comes round"
    )
    func duePollingUnderBudget() async throws {
        // 20 devices, one agent each, no failures; a poll may spend 6 requests: the device list and 5 devices.
        let fleet = FleetConfiguration(
            customers: 4, devicesPerCustomer: 5, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        let datto = Mutex<SandboxState?>(nil)
        try await CollectorHarness.with(
            fleet: fleet,
            configure: { configuration in
                configuration.requestsPerPoll = 6
                configuration.pollInterval = .seconds(600)
                // The collector reads Datto's time from the sandbox's clock, which the test moves.
                configuration.clock = { datto.withLock { $0?.now } ?? Date() }
            }
        ) { harness in
            datto.withLock { $0 = harness.sandbox }
            let observer = try await consumer(harness)
            try await harness.configure()  // the first sync reads every device
            let before = truthKeys(harness.sandbox)
            #expect(try await eventually { try observer.keys(BackupRunObserved.topic).count == before.count })

            // Move Datto's clock just past the next run of the agent due soonest: only that agent is due.
            let latest = Dictionary(grouping: harness.sandbox.visibleRuns(), by: \.serialNumber).mapValues { $0.map(\.timestamp).max()! }
            let (serial, last) = try #require(latest.min { $0.value < $1.value })
            let target = last.addingTimeInterval(24 * 3_600 + 60)
            harness.sandbox.advanceClock(by: max(600, target.timeIntervalSince(harness.sandbox.now)))
            let fresh = truthKeys(harness.sandbox).subtracting(before)
            #expect(fresh.contains { $0.hasPrefix(serial + "/") }, "the chosen device has a new run")

            func scheduledPoll() async throws -> DattoIntegrationView? {
                let previous = try await harness.integration()?.lastSyncStartedAt
                var current: DattoIntegrationView?
                #expect(
                    try await eventually(timeout: .seconds(30)) {
                        current = try await harness.integration()
                        return current?.lastSyncStartedAt != previous && current?.status == .ok
                    })
                return current
            }
            let poll = try await scheduledPoll()
            #expect(poll?.counts.requests == 6, "\(String(describing: poll))")
            // Its new run is out after this one poll, though 19 other devices were read as long ago.
            #expect(
                try await eventually {
                    Set(try observer.keys(BackupRunObserved.topic)).isSuperset(of: fresh.filter { $0.hasPrefix(serial + "/") })
                })

            // A few more polls, nothing else due: the least recently read devices come round, all 20 within four.
            let firstReads = try #require(try await harness.collector.deviceReads().values.compactMap { $0 }.min())
            for _ in 0..<4 {
                harness.sandbox.advanceClock(by: 600)
                _ = try await scheduledPoll()
            }
            let stale = try await harness.collector.deviceReads().values.compactMap { $0 }.filter { $0 <= firstReads }.count
            #expect(stale == 0, "every device was read again")
            try await observer.stop()
        }
    }

    @Test("a budgeted poll keeps a share for Endpoint Backup: SaaS Protection cannot take what the devices leave and starve it")
    func endpointsKeepTheirShare() async throws {
        // 20 devices; 4 SaaS domains and 8 endpoints (one page). A poll may spend 10 requests.
        var fleet = FleetConfiguration(
            customers: 4, devicesPerCustomer: 5, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        fleet.saasDomainsPerCustomer = 1
        fleet.endpointsPerCustomer = 2
        let datto = Mutex<SandboxState?>(nil)
        try await CollectorHarness.with(
            fleet: fleet,
            configure: { configuration in
                configuration.requestsPerPoll = 10
                configuration.pollInterval = .seconds(600)
                configuration.clock = { datto.withLock { $0?.now } ?? Date() }
            }
        ) { harness in
            datto.withLock { $0 = harness.sandbox }
            let observer = try await consumer(harness)
            try await harness.configure()  // the first sync reads everything
            let endpoint = try #require(harness.sandbox.endpoints().first)
            func endpointRuns() throws -> [Int] {
                try observer.keys(BackupRunObserved.topic).filter { $0.contains("/\(endpoint.assetUuid)/") }
                    .compactMap { $0.split(separator: "/").last.flatMap { Int($0) } }
            }
            #expect(try await eventually { try !endpointRuns().isEmpty })
            let failedFrom = Int(harness.sandbox.now.timeIntervalSince1970)
            #expect(harness.sandbox.failEndpoint(assetUuid: endpoint.assetUuid, nights: 2))
            let before = harness.sandbox.requestsBySurface()
            harness.sandbox.advanceClock(by: 86_400)
            let previous = try await harness.integration()?.lastSyncStartedAt
            var poll: DattoIntegrationView?
            #expect(
                try await eventually(timeout: .seconds(30)) {
                    poll = try await harness.integration()
                    return poll?.lastSyncStartedAt != previous && poll?.status == .ok
                })
            let spent = harness.sandbox.requestsBySurface().merging(before.mapValues { -$0 }, uniquingKeysWith: +)
            #expect(poll?.counts.requests ?? 99 <= 10, "\(String(describing: poll))")
            #expect(spent[.endpoints] == 1, "the endpoint list is read within the budget: \(spent)")
            #expect((spent[.saas] ?? 0) >= 1, "SaaS Protection still gets its share: \(spent)")
            // The endpoint's failed backup is on the bus after this one scheduled poll.
            #expect(try await eventually { try endpointRuns().contains { $0 >= failedFrom } })
            try await observer.stop()
        }
    }

    @Test("a poll's budget and strategy come from the environment; an unusable value is refused with the variable's name")
    func pollSettingsFromEnvironment() throws {
        let base = ["VECTIS_ADMIN_TOKEN": "admin-token-0123456789", "VECTIS_DATA_DIR": FileManager.default.temporaryDirectory.path]
        // 100 requests a minute, a poll every 5 minutes: 90% of 500.
        #expect(try CollectorConfiguration(environment: Environment.development(base)).pollBudget == 450)
        let set = try CollectorConfiguration(
            environment: Environment.development(
                base.merging([
                    "VECTIS_DATTO_REQUESTS_PER_POLL": "120", "VECTIS_DATTO_POLL_STRATEGY": "round-robin"
                ]) { _, new in new }))
        #expect(set.pollBudget == 120 && set.pollStrategy == .roundRobin)
        for (variable, value) in [("VECTIS_DATTO_POLL_STRATEGY", "random"), ("VECTIS_DATTO_REQUESTS_PER_POLL", "0")] {
            do {
                _ = try CollectorConfiguration(environment: Environment.development(base.merging([variable: value]) { _, new in new }))
                Issue.record("\(variable)=\(value) was accepted")
            } catch {
                #expect("\(error)".contains(variable), "\(error)")
            }
        }
    }

    @Test("two partner accounts (tenants) are polled separately, each event carrying its tenant; the first stays default")
    func tenants() async throws {
        let fleet = FleetConfiguration(customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, unassignedDevices: 0)
        try await CollectorHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            let second = try await harness.request(
                "PUT", "/v1/integrations/datto",
                [
                    "tenant": "msp-b", "publicKey": CollectorHarness.key.publicKey, "secretKey": CollectorHarness.key.secretKey,
                    "region": "us"
                ])
            #expect(second.status == 201)
            #expect(second.json["isDefault"] as? Bool == false)
            let synced = try await harness.request("POST", "/v1/integrations/datto/sync", ["tenant": "msp-b"])
            #expect(synced.json["tenant"] as? String == "msp-b")
            #expect(
                try await eventually {
                    try await harness.collector.publishedRuns(tenant: "msp-b") == harness.sandbox.visibleRuns().count
                })
            let tenants = try await harness.collector.bus.outbox.committed(BackupRunObserved.self).map(\.header.tenant)
            #expect(Set(tenants) == ["default", "msp-b"])
            #expect(tenants.filter { $0 == "msp-b" }.count == harness.sandbox.visibleRuns().count)
            let all = try HTTP.decode(
                DattoIntegrationList.self, try await harness.request("GET", "/v1/integrations/datto"), "GET /v1/integrations/datto")
            #expect(all.integrations.map(\.tenant) == ["default", "msp-b"])
        }
    }

    @Test("every /asset shape Datto has been seen to send gives the same runs")
    func assetShapes() async throws {
        let fleet = FleetConfiguration(customers: 1, devicesPerCustomer: 2, agentsPerDevice: 2, sharesPerDevice: 1)
        try await CollectorHarness.with(fleet: fleet) { harness in
            // First sync: /asset as {"0": {...}, "1": {...}}; then one more device appears and /asset comes as {items}.
            harness.queueFault(SandboxFault(fault: .indexKeyedAssets, count: 100, path: "/asset"))
            try await harness.configure()
            #expect(try await harness.integration()?.status == .ok)
            let before = truthKeys(harness.sandbox)
            #expect(try await publishedRunKeys(harness) == before)
            harness.sandbox.clearFaults()
            let serial = harness.sandbox.addDevice(customer: 0, agents: 2)
            harness.sandbox.advanceClock(by: 24 * 3_600)
            harness.queueFault(SandboxFault(fault: .envelopeAssets, count: 100, path: "/asset"))
            #expect(try await harness.sync().status == .ok)
            // Everything visible before or now, each once (older runs have left the 10-run window meanwhile).
            let published = try await outboxEvents(harness, BackupRunObserved.self)
            #expect(try await publishedRunKeys(harness) == before.union(truthKeys(harness.sandbox)))
            #expect(published.count == before.union(truthKeys(harness.sandbox)).count)
            #expect(try await outboxEvents(harness, DattoAgentSeen.self).contains { $0.deviceSerial == serial })
        }
    }

    @Test("a failing agent's runs carry Datto's status and error message; one device failing does not fail the sync")
    func failuresAndPartialSync() async throws {
        let fleet = FleetConfiguration(customers: 1, devicesPerCustomer: 3, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 1)
        try await CollectorHarness.with(fleet: fleet) { harness in
            // The second device's assets answer 504 on every attempt of the first sync.
            let serial = harness.sandbox.assets()[2].serialNumber
            harness.queueFault(SandboxFault(fault: .gatewayTimeout, count: 3, path: "/\(serial)/asset"))
            try await harness.configure()
            let result = try #require(try await harness.integration())
            #expect(result.status == .partial, "\(result)")
            #expect(result.lastError?.contains("1 of 4 devices could not be read") == true, "\(result)")
            let runs = try await outboxEvents(harness, BackupRunObserved.self)
            #expect(!runs.contains { $0.deviceSerial == serial })
            let failed = runs.filter { $0.rawStatus == "failure" }
            #expect(!failed.isEmpty)
            #expect(failed.allSatisfy { $0.errorMessage?.isEmpty == false })
            // The next poll picks the device up.
            #expect(try await harness.sync().status == .ok)
            #expect(try await outboxEvents(harness, BackupRunObserved.self).contains { $0.deviceSerial == serial })
        }
    }
}

@Suite("Collector: the Datto secret never leaks", .serialized)
struct SecretTests {
    @Test("the secret is in no log line, no bus message, no API response, and not in the SQLite files")
    func secretStaysSecret() async throws {
        try await CollectorHarness.with { harness in
            let secret = CollectorHarness.key.secretKey
            let tapped = TapRecorder(endpoint: harness.bus.endpoints.tap, curve: harness.bus.configuration.curve)
            try await Task.sleep(for: .milliseconds(300))
            var responses: [String] = []
            responses.append(
                try await harness.request(
                    "PUT", "/v1/integrations/datto",
                    ["publicKey": CollectorHarness.key.publicKey, "secretKey": secret, "region": "us"]
                ).body)
            responses.append(try await harness.request("POST", "/v1/integrations/datto/test").body)
            responses.append(try await harness.request("POST", "/v1/integrations/datto/test", ["secretKey": "wrong-\(secret)"]).body)
            try await harness.sync()
            responses.append(try await harness.request("GET", "/v1/integrations/datto").body)
            // Rotation: the same key re-entered keeps working and still shows only "set".
            responses.append(
                try await harness.request(
                    "PUT", "/v1/integrations/datto",
                    ["publicKey": CollectorHarness.key.publicKey, "secretKey": secret, "region": "us"]
                ).body)
            try await Task.sleep(for: .milliseconds(500))
            let frames = tapped.stop()

            #expect(frames > 0, "the tap saw the sync's traffic")
            #expect(!tapped.bytes.contains(Array(secret.utf8)))
            for response in responses { #expect(!response.contains(secret), "\(response)") }
            #expect(responses.last?.contains(#""secretKeySet":true"#) == true)
            #expect(!harness.logs.text.isEmpty)
            #expect(!harness.logs.text.contains(secret))
            let files = try FileManager.default.contentsOfDirectory(atPath: harness.dataDirectory.path)
            #expect(files.contains("collector.sqlite"))
            for file in files {
                let bytes = try Data(contentsOf: harness.dataDirectory.appendingPathComponent(file))
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file)")
            }
            let keyFile = harness.dataDirectory.appendingPathComponent("secret.key").path
            let permissions = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
        }
    }
}

/// Everything that crosses the bus's tap port while it runs, as raw bytes.
final class TapRecorder: Sendable {
    private final class Store: Sendable {
        let bytes = Mutex<[UInt8]>([])
        let count = Mutex(0)
        let stopping = Mutex(false)
    }

    private let store = Store()
    private let thread: ZMQSocketThread

    init(endpoint: String, curve: CurveClientKeys?) {
        let store = self.store
        thread = ZMQSocketThread.start(name: "tap-recorder") {
            guard let context = try? ZMQContext(), let socket = try? ZMQSocket(context: context, type: .sub) else { return }
            defer { socket.close() }
            try? socket.setLinger(milliseconds: 0)
            if let curve {
                try? socket.setCurveClient(serverKey: curve.serverPublicKey, publicKey: curve.publicKey, secretKey: curve.secretKey)
            }
            try? socket.subscribe("")
            try? socket.setReceiveTimeout(milliseconds: 50)
            try? socket.connect(endpoint)
            while !store.stopping.withLock({ $0 }) {
                guard let frames = try? socket.receiveMessage() else { continue }
                store.count.withLock { $0 += 1 }
                store.bytes.withLock { bytes in for frame in frames { bytes += frame } }
            }
        }
    }

    var bytes: [UInt8] { store.bytes.withLock { $0 } }

    /// Stops recording; returns how many messages were seen.
    func stop() -> Int {
        store.stopping.withLock { $0 = true }
        _ = thread.join(timeout: .seconds(2))
        return store.count.withLock { $0 }
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
