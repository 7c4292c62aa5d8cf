import BackupsService
import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// The status grid and success rates against what the sandbox's own history says they must be.
@Suite("Status grid and success rates, end to end", .serialized)
struct GridTests {
    static let silence = SilenceSettings(checkInterval: .milliseconds(100))

    /// Every run the sandbox has shown, kept across snapshots (Datto lists only the latest runs of each agent).
    final class Truth: @unchecked Sendable {
        var runs: [String: SandboxRun] = [:]
        /// Nights on which the collector saw each agent paused or archived.
        var pausedNights: [String: Set<String>] = [:]
        let calendar = NightCalendar()

        func snapshot(_ sandbox: SandboxState) {
            for run in sandbox.visibleRuns() { runs["\(run.volume)@\(run.timestamp.timeIntervalSince1970)"] = run }
        }

        func sawPaused(_ volumes: [String], at now: Date) {
            for volume in volumes { pausedNights[volume, default: []].insert(calendar.night(of: now)) }
        }

        /// The night's runs of one agent.
        func runs(of volume: String, night: String) -> [SandboxRun] {
            runs.values.filter { $0.volume == volume && calendar.night(of: $0.timestamp) == night }.sorted { $0.timestamp < $1.timestamp }
        }

        /// The cell as the product guide defines it: runs first, rolled up by `mode`; then paused; then missed.
        func status(of volume: String, night: String, mode: RollUp, missed: Set<String>) -> NightCell.Status {
            let runs = runs(of: volume, night: night)
            let (successes, failures) = (runs.filter(\.succeeded).count, runs.filter { !$0.succeeded }.count)
            if !runs.isEmpty {
                switch mode {
                case .worst: return failures == 0 ? .success : successes > 0 ? .partial : .failure
                case .last: return runs.last!.succeeded ? .success : .failure
                case .best: return successes > 0 ? .success : .failure
                }
            }
            if pausedNights[volume]?.contains(night) == true { return .paused }
            return missed.contains(night) ? .missed : .none
        }
    }

    @Test(
        "every customer's grid equals the sandbox's history in all three roll-up modes — failures, partial nights across the boundary, missed nights from silence, paused and archived agents — and so do the rates"
    )
    func gridFromHistory() async throws {
        // Three runs a day (every 8 hours): nights hold several runs, on both sides of the noon boundary.
        var fleet = FleetConfiguration(
            customers: 2, devicesPerCustomer: 1, agentsPerDevice: 4, sharesPerDevice: 0, failingAgents: 1, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        fleet.cadence = .seconds(8 * 3_600)
        fleet.historyLength = 30
        try await SystemHarness.with(fleet: fleet, silence: Self.silence) { harness in
            let sandbox = harness.sandbox
            let truth = Truth()
            let inventory = sandbox.inventory()
            // The generated fleet pauses the first appliance's second agent and archives its third.
            let paused = try #require(inventory.first).assets.dropFirst().prefix(2).map { $0.volume }
            try await harness.configure()
            truth.snapshot(sandbox)
            truth.sawPaused(paused, at: sandbox.now)
            try await harness.waitForHistory()

            // One agent fails from now for two days (its nights turn partial, then failed, then partial again); another
            // goes silent for good.
            let other = try #require(inventory.last)
            let failing = try #require(other.assets.first).volume
            let silent = try #require(other.assets.last).volume
            // Start the failure an hour after a run whose next run falls in the same night: that night then holds a
            // success and a failure (partial, rolled up worst).
            let latest = try #require(truth.runs.values.filter { $0.volume == failing }.map(\.timestamp).max())
            let start = try #require(
                (0..<4).map { latest.addingTimeInterval(Double($0) * 8 * 3_600) }.first { run in
                    run.addingTimeInterval(3_600) >= sandbox.now
                        && truth.calendar.night(of: run) == truth.calendar.night(of: run.addingTimeInterval(8 * 3_600))
                }?.addingTimeInterval(3_600))
            sandbox.advanceClock(by: start.timeIntervalSince(sandbox.now))
            #expect(sandbox.fail(volume: failing, nights: 2))
            #expect(sandbox.silence(volume: silent))
            let silencedAt = sandbox.now
            for hours in [10.0, 10, 10, 10, 10, 10, 10, 10] {
                sandbox.advanceClock(by: hours * 3_600)
                _ = try await harness.sync()
                truth.snapshot(sandbox)
                truth.sawPaused(paused, at: sandbox.now)
            }
            try await harness.waitForHistory()
            let lastSuccess = try #require(
                truth.runs.values.filter { $0.volume == silent && $0.succeeded && $0.timestamp <= silencedAt }.map(\.timestamp).max())
            let tonight = truth.calendar.night(of: sandbox.now)
            let missed = Set(
                NightCalendar.nights(endingWith: tonight, count: 90).filter { $0 >= truth.calendar.night(of: lastSuccess) })

            for device in inventory {
                let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
                for mode in RollUp.allCases {
                    func expected(_ agent: CustomerGrid.Agent, _ night: String) -> NightCell.Status {
                        let volume =
                            device.assets.first {
                                StableID.agent(tenant: "default", deviceSerial: device.serialNumber, volume: $0.volume) == agent.agentId
                            }?.volume ?? ""
                        return truth.status(of: volume, night: night, mode: mode, missed: volume == silent ? missed : [])
                    }
                    var grid: CustomerGrid?
                    // The silent agent's nights are marked by the silence check, which runs on its own timer.
                    let matched = try await eventually {
                        grid = try await harness.backups(
                            "/v1/customers/\(customerId)/grid?days=14&rollUp=\(mode.rawValue)", as: CustomerGrid.self)
                        return grid?.agents.allSatisfy { agent in agent.cells.allSatisfy { $0.status == expected(agent, $0.night) } }
                            ?? false
                    }
                    let shown = try #require(grid)
                    #expect(matched, "\(mode): \(Self.differences(shown, expected))")
                    #expect(shown.rollUp == mode && shown.rollUpSource == .request)
                    #expect(shown.nights.count == 14 && shown.nights.last == tonight)
                    #expect(shown.agents.count == device.assets.count)
                    // Rates count completed nights with a success among those a backup was expected.
                    for agent in shown.agents {
                        for rate in agent.rates {
                            let nights = NightCalendar.nights(endingWith: NightCalendar.night(tonight, adding: -1)!, count: rate.nights)
                            let statuses = nights.map { expected(agent, $0) }
                            let expectedNights = statuses.filter { [.success, .partial, .failure, .missed].contains($0) }.count
                            let volume =
                                device.assets.first {
                                    StableID.agent(tenant: "default", deviceSerial: device.serialNumber, volume: $0.volume) == agent.agentId
                                }?.volume ?? ""
                            let succeeded = nights.filter { night in truth.runs(of: volume, night: night).contains(where: \.succeeded) }
                                .count
                            #expect(
                                rate.expected == expectedNights && rate.succeeded == succeeded,
                                "\(agent.name) over \(rate.nights): \(rate) against \(expectedNights)/\(succeeded)")
                        }
                    }
                    for rate in shown.rates {
                        let sum = shown.agents.map { $0.rates.first { $0.nights == rate.nights }! }
                        #expect(rate.expected == sum.map(\.expected).reduce(0, +) && rate.succeeded == sum.map(\.succeeded).reduce(0, +))
                    }
                }
            }
            // What the history must have produced, so the comparison above covered every kind of cell.
            let failingGrid = try await harness.backups(
                "/v1/customers/\(StableID.customer(tenant: "default", key: expectedCustomerKey(other)))/grid?days=14", as: CustomerGrid.self
            )
            let failingRow = try #require(failingGrid.agents.first { $0.name == other.assets.first?.name })
            #expect(failingRow.cells.contains { $0.status == .partial }, "the failure began mid-night: \(failingRow.cells)")
            #expect(failingRow.cells.contains { $0.status == .failure && $0.lastError != nil }, "a failed night carries Datto's message")
            #expect(failingGrid.agents.contains { $0.cells.contains { $0.status == .missed } })
            #expect(failingGrid.rollUp == .worst && failingGrid.rollUpSource == .standard)
            let firstGrid = try await harness.backups(
                "/v1/customers/\(StableID.customer(tenant: "default", key: expectedCustomerKey(inventory[0])))/grid?days=14",
                as: CustomerGrid.self)
            #expect(firstGrid.agents.filter { $0.isPaused || $0.isArchived }.count == 2)
            #expect(
                firstGrid.agents.filter { $0.isPaused || $0.isArchived }.allSatisfy { $0.cells.last?.status == .paused },
                "paused and archived agents' nights without runs are paused, not missed")
        }
    }

    @Test(
        "the grid's doors: bounds on days and nights, a roll-up mode saved per customer with the admin token only, a cell's runs by night, the dashboard's counts"
    )
    func doors() async throws {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 1, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet, silence: Self.silence) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let device = try #require(harness.sandbox.inventory().first)
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            let backups = harness.backupsURL
            func call(_ method: String, _ path: String, _ body: [String: Any]? = nil, as token: String = CollectorHarness.readToken)
                async throws -> (status: Int, body: String, json: [String: Any])
            {
                try await HTTP.send(method, backups + path, body, bearer: token)
            }
            for path in [
                "/v1/customers/\(customerId)/grid?days=0", "/v1/customers/\(customerId)/grid?days=91",
                "/v1/customers/\(customerId)/grid?days=9999999999999999999999", "/v1/customers/\(customerId)/grid?rollUp=median",
                "/v1/success-rates?nights=-1", "/v1/fleet?nights=abc", "/v1/agents/a_x/runs?night=2026-02-30",
                "/v1/agents/a_x/runs?night=yesterday"
            ] {
                #expect(try await call("GET", path).status == 400, "\(path)")
            }
            #expect(try await call("GET", "/v1/customers/c_nobody/grid").status == 404)
            #expect(try await HTTP.send("GET", backups + "/v1/customers/\(customerId)/grid").status == 401, "no token, no grid")
            #expect(try await HTTP.send("GET", backups + "/v1/fleet").status == 401)

            // The customer's mode: saved with the admin token, refused with the read-only one, used by the grid.
            #expect(try await call("PUT", "/v1/customers/\(customerId)/grid-settings", ["rollUp": "best"]).status == 401)
            let refused = try await call(
                "PUT", "/v1/customers/\(customerId)/grid-settings", ["rollUp": "median"], as: CollectorHarness.token)
            #expect(refused.status == 400)
            #expect(
                try await call("PUT", "/v1/customers/c_nobody/grid-settings", ["rollUp": "best"], as: CollectorHarness.token).status == 404)
            let saved = try await call("PUT", "/v1/customers/\(customerId)/grid-settings", ["rollUp": "best"], as: CollectorHarness.token)
            #expect(saved.status == 200 && saved.json["rollUp"] as? String == "best", "\(saved.body)")
            let grid = try await harness.backups("/v1/customers/\(customerId)/grid?days=7", as: CustomerGrid.self)
            #expect(grid.rollUp == .best && grid.rollUpSource == .customer && grid.nights.count == 7)
            let back = try await call("PUT", "/v1/customers/\(customerId)/grid-settings", ["rollUp": NSNull()], as: CollectorHarness.token)
            #expect(back.status == 200)
            #expect(try await harness.backups("/v1/customers/\(customerId)/grid", as: CustomerGrid.self).rollUpSource == .standard)

            // A cell's runs: exactly the runs of that agent's night.
            let row = try #require(grid.agents.first { $0.cells.contains { $0.successes + $0.failures > 0 } })
            let cell = try #require(row.cells.last { $0.successes + $0.failures > 0 })
            let runs = try await harness.backups("/v1/agents/\(row.agentId)/runs?night=\(cell.night)", as: AgentRuns.self).runs
            #expect(runs.count == cell.successes + cell.failures && runs.allSatisfy { $0.night == cell.night })

            // The dashboard's counts: one failing agent, the fleet's agents.
            let overview = try await harness.backups("/v1/fleet?nights=7", as: FleetOverview.self)
            #expect(overview.counts.failing == 1 && overview.counts.agents == 2, "\(overview.counts)")
            #expect(overview.nightly.count == 7 && overview.rate.nights == 7)
            let rates = try await harness.backups("/v1/success-rates?nights=7", as: SuccessRates.self)
            #expect(rates.customers.map(\.customerId) == [customerId] && rates.fleet == overview.rate)
            #expect(overview.worstCustomers.map(\.customerId) == [customerId])
        }
    }

    /// `agent night: shown ≠ expected` for every cell that differs.
    static func differences(_ grid: CustomerGrid, _ expected: (CustomerGrid.Agent, String) -> NightCell.Status) -> String {
        grid.agents.flatMap { agent in
            agent.cells.filter { $0.status != expected(agent, $0.night) }.map {
                "\(agent.name) \($0.night): \($0.status) ≠ \(expected(agent, $0.night)) (\($0.successes)/\($0.failures))"
            }
        }.joined(separator: "; ")
    }
}
