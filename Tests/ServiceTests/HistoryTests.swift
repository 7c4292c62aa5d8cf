import BackupsService
import DattoSandbox
import Foundation
import GRDB
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// The customer key the guide's rules give a sandbox device (organization id, else company name, else Unassigned).
func expectedCustomerKey(_ device: SandboxState.InventoryDevice) -> String {
    if let id = device.organizationId { return "org:\(id)" }
    if let name = device.companyName, !name.isEmpty {
        return "name:" + name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
    return "unassigned"
}

extension SystemHarness {
    func assets(_ path: String) async throws -> (status: Int, body: String, json: [String: Any]) {
        try await HTTP.send("GET", assetsURL + path, bearer: CollectorHarness.readToken)
    }

    func assets<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try HTTP.decode(T.self, try await assets(path), "GET \(path)")
    }

    func backups<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        try HTTP.decode(T.self, try await backups(path), "GET \(path)")
    }

    func backups(_ path: String) async throws -> (status: Int, body: String, json: [String: Any]) {
        try await HTTP.send("GET", backupsURL + path, bearer: CollectorHarness.readToken)
    }

    func backupJobCount() async throws -> Int {
        try await BackupsFile(backupsDatabase).runs().count
    }

    /// Waits until the backups service holds every run the sandbox shows now (older ones stay recorded).
    func waitForHistory() async throws {
        let expected = Set(base.sandbox.visibleRuns().map { "\($0.serialNumber)/\($0.volume)/\(Int($0.timestamp.timeIntervalSince1970))" })
        let file = BackupsFile(backupsDatabase)
        #expect(try await eventually { expected.isSubset(of: try await file.runKeys()) }, "backup_jobs holds every visible run")
    }
}

@Suite("Assets and backup history, end to end", .serialized)
struct HistoryTests {
    @Test("after the first sync every device and agent of a customer is listed, agents without any backup included")
    func assetsBeforeFirstBackup() async throws {
        try await SystemHarness.with { harness in
            try await harness.configure()
            let inventory = harness.sandbox.inventory()
            let byCustomer = Dictionary(grouping: inventory, by: expectedCustomerKey)
            let withoutRuns = Set(harness.sandbox.assets().filter { !$0.hasRuns }.map(\.volume))
            #expect(!withoutRuns.isEmpty)
            #expect(
                try await eventually {
                    let customers = try await harness.assets("/v1/customers", as: CustomerList.self).customers
                    return customers.reduce(0) { $0 + $1.agents } == inventory.reduce(0) { $0 + $1.assets.count }
                })
            // Agents and devices arrive on different topics, so the agent counts can be complete a moment before
            // the last device is: wait for every customer's listing itself.
            #expect(
                try await eventually {
                    for (key, devices) in byCustomer {
                        let listed = try await harness.assets(
                            "/v1/customers/\(StableID.customer(tenant: "default", key: key))/assets", as: CustomerAssets.self)
                        let serials = listed.devices.map(\.serialNumber)
                        if Set(serials) != Set(devices.map(\.serialNumber)) { return false }
                    }
                    return true
                })
            for (key, devices) in byCustomer {
                let id = StableID.customer(tenant: "default", key: key)
                let listedDevices = try await harness.assets("/v1/customers/\(id)/assets", as: CustomerAssets.self).devices
                #expect(Set(listedDevices.map(\.serialNumber)) == Set(devices.map(\.serialNumber)), "\(key)")
                let listedVolumes = Set(listedDevices.flatMap { $0.agents.map(\.volume) })
                #expect(listedVolumes == Set(devices.flatMap { $0.assets.map(\.volume) }))
            }
            let unassigned = try await harness.assets(
                "/v1/customers/\(StableID.customer(tenant: "default", key: "unassigned"))", as: CustomerView.self)
            #expect(unassigned.name == "Unassigned")
            // Agents with no backups are there before any run is recorded for them.
            let all = try await harness.assets("/v1/customers", as: CustomerList.self).customers
            var seenWithoutRuns = 0
            for customer in all {
                let assets = try await harness.assets("/v1/customers/\(customer.id)/assets", as: CustomerAssets.self)
                for device in assets.devices {
                    for agent in device.agents where withoutRuns.contains(agent.volume) {
                        #expect(agent.lastRunAt == nil)
                        seenWithoutRuns += 1
                    }
                }
            }
            #expect(seenWithoutRuns == withoutRuns.count)
        }
    }

    @Test("an agent that disappears from Datto is marked removed with the time, not deleted; a renamed customer keeps its id")
    func removalAndRename() async throws {
        let fleet = FleetConfiguration(customers: 1, devicesPerCustomer: 1, agentsPerDevice: 3, sharesPerDevice: 0, unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            let agent = try #require(harness.sandbox.assets().first)
            let id = StableID.customer(tenant: "default", key: expectedCustomerKey(harness.sandbox.inventory()[0]))
            #expect(try await eventually { try await harness.assets("/v1/customers/\(id)", as: CustomerView.self).agents == 3 })
            let observer = try ReliableNode(harness.bus, service: "alerts", instance: "asset-observer", subscriptions: [.prefix("asset.")])
            #expect(await observer.waitUntilReady())
            #expect(harness.sandbox.removeAgent(volume: agent.volume))
            #expect(harness.sandbox.renameCustomer(0, to: "Acme Holdings"))
            try await harness.sync()
            #expect(try await eventually { try await harness.assets("/v1/customers/\(id)", as: CustomerView.self).agents == 2 })
            #expect(try await harness.assets("/v1/customers/\(id)", as: CustomerView.self).name == "Acme Holdings")
            let devices = try await harness.assets("/v1/customers/\(id)/assets", as: CustomerAssets.self).devices
            let agents = devices.flatMap(\.agents)
            #expect(agents.count == 3, "the removed agent is kept")
            let removed = try #require(agents.first { $0.volume == agent.volume })
            #expect(removed.removedAt != nil)
            #expect(agents.filter { $0.removedAt != nil }.count == 1)
            #expect(
                try await eventually {
                    try observer.keys(AssetAgentChanged.topic).contains("removed/\(agent.serialNumber)/\(agent.volume)")
                })
            try await observer.stop()
        }
    }

    @Test(
        "the hub's cards (failed-night streaks included) and 10 most recent runs equal what the sandbox says, after the first sync and two nights later"
    )
    func hubMatchesSandbox() async throws {
        try await SystemHarness.with { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            try await expectHubMatches(harness)
            // Two more nights, one agent failing from now: summaries kept up run by run still equal the truth.
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns && $0.kind == "agent" })
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 1))
            for _ in 1...2 {
                harness.sandbox.advanceClock(by: 24 * 3_600)
                try await harness.sync()
                try await harness.waitForHistory()
            }
            try await expectHubMatches(harness)
        }
    }

    /// Every customer's cards and recent runs equal what the sandbox shows, computed here on its own.
    func expectHubMatches(_ harness: SystemHarness) async throws {
        let runs = harness.sandbox.visibleRunDetails()
        let calendar = NightCalendar()
        for (key, devices) in Dictionary(grouping: harness.sandbox.inventory(), by: expectedCustomerKey) {
            let hub = try await harness.backups(
                "/v1/customers/\(StableID.customer(tenant: "default", key: key))/backups", as: CustomerBackups.self)
            let cards = hub.agents
            let volumes = devices.flatMap { $0.assets.map(\.volume) }
            #expect(Set(cards.map(\.volume)) == Set(volumes))
            for card in cards {
                let volume = card.volume
                let mine = runs.filter { $0.volume == volume }.sorted { $0.timestamp > $1.timestamp }
                let lastSuccess = mine.first { $0.succeeded }
                let lastFailure = mine.first { !$0.succeeded }
                #expect(card.state == (mine.isEmpty ? .noBackupsYet : (mine[0].succeeded ? .ok : .failing)), "\(volume)")
                if mine.isEmpty { #expect(card.headline == "No backups yet") }
                #expect(card.lastSuccessAt == lastSuccess?.timestamp)
                #expect(card.lastFailure?.at == lastFailure?.timestamp)
                #expect(card.lastFailure?.message == lastFailure?.errorMessage)
                #expect(card.currentlyFailing == (mine.first.map { !$0.succeeded } ?? false))
                // Failed nights in a row: the latest nights with runs and no success (noon-to-noon UTC nights).
                let byNight = Dictionary(grouping: mine) { calendar.night(of: $0.timestamp) }
                let streak = byNight.keys.sorted(by: >).prefix { night in !byNight[night]!.contains { $0.succeeded } }.count
                #expect(card.failedNightsInARow == streak, "\(volume)")
            }
            let expectedRecent = runs.filter { volumes.contains($0.volume) }.sorted { $0.timestamp > $1.timestamp }.prefix(10)
            let recent = hub.recentRuns
            #expect(recent.count == expectedRecent.count)
            for (run, expected) in zip(recent, expectedRecent) {
                #expect(run.runAt == expected.timestamp)
                #expect(run.status == (expected.succeeded ? .success : .failure))
                #expect(run.errorMessage == expected.errorMessage)
            }
        }
    }

    @Test("two failed nights show a streak of 2; a success resets it")
    func failedNightStreak() async throws {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let agent = try #require(harness.sandbox.assets().first { $0.hasRuns })
            let agentId = StableID.agent(tenant: "default", deviceSerial: agent.serialNumber, volume: agent.volume)
            func card() async throws -> AgentCard {
                try await harness.backups("/v1/agents/\(agentId)/runs?limit=5", as: AgentRuns.self).agent
            }
            #expect(try await card().failedNightsInARow == 0)
            #expect(harness.sandbox.fail(volume: agent.volume, nights: 2))
            for night in 1...2 {
                harness.sandbox.advanceClock(by: 24 * 3_600)
                try await harness.sync()
                try await harness.waitForHistory()
                let current = try await card()
                #expect(current.failedNightsInARow == night)
                #expect(current.currentlyFailing)
                #expect(current.headline.hasPrefix("Currently failing — \(night) failed night"))
            }
            #expect(harness.sandbox.recover(volume: agent.volume))
            harness.sandbox.advanceClock(by: 24 * 3_600)
            try await harness.sync()
            try await harness.waitForHistory()
            #expect(try await card().failedNightsInARow == 0)
            #expect(try await card().state == .ok)
        }
    }

    @Test("re-polls and replays leave backup_jobs unchanged")
    func noDuplicateRows() async throws {
        try await SystemHarness.with { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let rows = try await harness.backupJobCount()
            try await harness.sync()
            try await harness.sync()
            // Replay the collector's whole run stream to everyone.
            let replayer = try ReliableNode(harness.bus, service: "alerts", instance: "replayer")
            #expect(await replayer.waitUntilReady())
            // Asked again every 5 s until served: the owner serves only requesters whose heartbeat came through lately,
            // and with the whole suite running a heartbeat (or the request) can be late.
            var replayed = false
            for _ in 0..<12 where !replayed {
                replayer.bus.connection.publisher.publishControl(
                    BusReplayRequested(
                        stream: "collector/test", topic: Shard.wireTopic(BackupRunObserved.topic, tenant: "default"), fromSeq: 1,
                        requestedBy: replayer.stream, reason: .gap))
                replayed = try await eventually(timeout: .seconds(5)) {
                    let metrics = try await harness.backups("/metrics").body
                    let line = metrics.split(separator: "\n").first { $0.hasPrefix("vectis_bus_duplicates_skipped_total ") }
                    return (line.flatMap { Double($0.split(separator: " ").last!) } ?? 0) >= Double(rows)
                }
            }
            #expect(replayed, "the collector's run stream was replayed")
            #expect(try await harness.backupJobCount() == rows)
            try await replayer.stop()
        }
    }

    @Test("unknown customers and agents are 404 with a JSON error; bad parameters are 400")
    func errors() async throws {
        try await SystemHarness.with { harness in
            for (response, status) in [
                (try await harness.backups("/v1/customers/c_nope/backups"), 404),
                (try await harness.backups("/v1/agents/a_nope/runs"), 404),
                (try await harness.assets("/v1/customers/c_nope"), 404),
                (try await harness.assets("/v1/customers/c_nope/assets"), 404),
                (try await harness.assets("/v1/devices/NOPE"), 404),
                (try await harness.backups("/v1/agents/a_nope/runs?limit=0"), 400),
                (try await harness.backups("/v1/agents/a_nope/runs?limit=ten"), 400),
                (try await harness.backups("/v1/agents/a_nope/runs?before=yesterday"), 400)
            ] {
                #expect(response.status == status, "\(response.body)")
                #expect((try? HTTP.decode(APIProblem.self, response, "an error")) != nil, "\(response.body)")
            }
        }
    }
}

@Suite("Nights")
struct NightCalendarTests {
    @Test("with the default noon boundary, 23:00 and 01:00 are one night; noon starts the next")
    func boundary() {
        let calendar = NightCalendar()
        let evening = BusJSON.parseTimestamp("2026-11-27T23:00:00Z")!
        let morning = BusJSON.parseTimestamp("2026-11-28T01:00:00Z")!
        #expect(calendar.night(of: evening) == "2026-11-27")
        #expect(calendar.night(of: morning) == "2026-11-27")
        #expect(calendar.night(of: BusJSON.parseTimestamp("2026-11-28T11:59:00Z")!) == "2026-11-27")
        #expect(calendar.night(of: BusJSON.parseTimestamp("2026-11-28T12:00:00Z")!) == "2026-11-28")
    }

    @Test("the tenant's time zone decides the night")
    func timeZone() {
        let berlin = NightCalendar(timeZone: TimeZone(identifier: "Europe/Berlin")!, boundaryHour: 12)
        // 11:30 UTC is 12:30 in Berlin: already the next night there, still the previous one in UTC.
        let date = BusJSON.parseTimestamp("2026-11-28T11:30:00Z")!
        #expect(berlin.night(of: date) == "2026-11-28")
        #expect(NightCalendar().night(of: date) == "2026-11-27")
    }
}
