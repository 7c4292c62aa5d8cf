import BackupsService
import DattoSandbox
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

extension SystemHarness {
    /// Sets Datto's clock to `date`, syncs, waits for the runs, then for two silence checks after them.
    func move(to date: Date) async throws {
        base.sandbox.advanceClock(by: date.timeIntervalSince(base.sandbox.now))
        try await sync()
        try await waitForHistory()
        try await waitForSilenceChecks()
    }

    func waitForSilenceChecks(_ count: Int = 2) async throws {
        let start = try await silenceChecks()
        #expect(try await eventually { try await silenceChecks() >= start + count }, "the silence check runs on its timer")
    }

    func silenceChecks() async throws -> Int {
        try await HTTP.send("GET", backupsURL + "/metrics").body.split(separator: "\n")
            .first { $0.hasPrefix("vectis_backups_silence_checks_total ") }
            .flatMap { Double($0.split(separator: " ").last!) }.map { Int($0) } ?? 0
    }

    /// The Backups section's card of one agent.
    func card(customer: String, agent: String) async throws -> AgentCard? {
        try await backups("/v1/customers/\(customer)/backups", as: CustomerBackups.self).agents.first { $0.agentId == agent }
    }
}

@Suite("Silence is a failure: missed backups, offline appliances, stale offsite copies — end to end", .serialized)
struct SilenceTests {
    /// Default windows (26 h, 1 h, 48 h, 48 h grace); checked every 100 ms instead of every minute.
    static let settings = SilenceSettings(checkInterval: .milliseconds(100))

    /// One customer, every agent backing up nightly, nothing failing or waiting for a first backup.
    static func fleet(devices: Int, agentsPerDevice: Int) -> FleetConfiguration {
        FleetConfiguration(
            customers: 1, devicesPerCustomer: devices, agentsPerDevice: agentsPerDevice, sharesPerDevice: 0, failingAgents: 0,
            agentsWithoutBackupsEvery: 0, unassignedDevices: 0)
    }

    @Test(
        "a silent agent raises backup-missed after its window with no failed run, and a success resolves it; paused, archived and new agents in their grace never raise it"
    )
    func missedBackups() async throws {
        let fleet = Self.fleet(devices: 1, agentsPerDevice: 4)
        try await SystemHarness.with(fleet: fleet, silence: Self.settings) { harness in
            let sandbox = harness.sandbox
            try await harness.configure()
            try await harness.waitForHistory()
            let device = sandbox.inventory()[0]
            // The sandbox pauses the first device's second agent and archives its third.
            let (silent, paused, archived, healthy) = (device.assets[0], device.assets[1], device.assets[2], device.assets[3])
            func agentId(_ volume: String) -> String {
                StableID.agent(tenant: "default", deviceSerial: device.serialNumber, volume: volume)
            }
            let customerId = StableID.customer(tenant: "default", key: expectedCustomerKey(device))
            let lastSuccess = try #require(
                sandbox.visibleRunDetails().filter { $0.volume == silent.volume && $0.succeeded }.map(\.timestamp).max())
            #expect(sandbox.silence(volume: silent.volume))
            let newcomer = try #require(sandbox.addAgent(serialNumber: device.serialNumber, name: "NEW-LAPTOP"))
            #expect(sandbox.silence(volume: newcomer), "a new agent that never takes its first backup")

            try await harness.move(to: lastSuccess.addingTimeInterval(25 * 3_600))
            #expect(try await harness.alertList("?type=backup-missed").isEmpty, "25 h: still inside the 26-h window")

            try await harness.move(to: lastSuccess.addingTimeInterval(27 * 3_600))
            #expect(try await eventually { try await harness.alertList("?type=backup-missed").count == 1 })
            let missed = try #require(try await harness.alertList("?type=backup-missed").first)
            #expect(missed.agentId == agentId(silent.volume))
            #expect(missed.severity.rawValue == "high")
            #expect(missed.state.rawValue == "open")
            #expect(missed.lastError == "No successful backup for 27 h")
            #expect(try await harness.alertList("?type=backup-job-failure").isEmpty, "no failed run ever arrived")
            let card = try #require(try await harness.card(customer: customerId, agent: agentId(silent.volume)))
            #expect(card.state == .missed)
            #expect(card.headline == "No successful backup for 27 h")
            #expect(try await harness.card(customer: customerId, agent: agentId(healthy.volume))?.state == .ok)

            // Three days on: the newcomer's 48-h grace is over; paused and archived agents have long been quiet.
            try await harness.move(to: lastSuccess.addingTimeInterval(75 * 3_600))
            #expect(try await eventually { try await harness.alertList("?type=backup-missed").count == 2 })
            let alerts = try await harness.alertList("?type=backup-missed")
            #expect(Set(alerts.compactMap(\.agentId)) == [agentId(silent.volume), agentId(newcomer)])
            let newcomerAlert = try #require(alerts.first { $0.agentId == agentId(newcomer) })
            #expect(newcomerAlert.lastError == "No backup yet, 50 h after it was added")
            let silentAlert = try #require(alerts.first { $0.agentId == agentId(silent.volume) })
            #expect(silentAlert.occurrences == 2, "a further day is an occurrence on the same alert")
            #expect(silentAlert.days == 3)
            #expect(silentAlert.lastError == "No successful backup for 3 days")
            for quiet in [paused.volume, archived.volume] {
                let card = try #require(try await harness.card(customer: customerId, agent: agentId(quiet)))
                #expect(card.conditions.isEmpty, "\(card)")
            }
            #expect(try await harness.alertList().count == 2, "nothing about paused, archived or healthy agents")

            // Backing up again: the first success resolves it.
            #expect(sandbox.resume(volume: silent.volume))
            try await harness.move(to: sandbox.now.addingTimeInterval(25 * 3_600))
            #expect(
                try await eventually {
                    try await harness.alert(silentAlert.id).state == .resolved
                })
            let resolved = try await harness.alert(silentAlert.id)
            #expect(resolved.resolvedReason == "recovered")
            #expect(try await harness.card(customer: customerId, agent: agentId(silent.volume))?.state == .ok)
            #expect(try await harness.alertList("?state=open&type=backup-missed").count == 1, "the newcomer is still silent")
        }
    }

    @Test(
        "an offline appliance raises one device-offline alert, not one per agent, and clears when it checks in; a stalled offsite copy raises offsite-stale (medium)"
    )
    func offlineAndOffsite() async throws {
        let fleet = Self.fleet(devices: 2, agentsPerDevice: 2)
        try await SystemHarness.with(fleet: fleet, silence: Self.settings) { harness in
            let sandbox = harness.sandbox
            try await harness.configure()
            try await harness.waitForHistory()
            let (online, offline) = (sandbox.inventory()[0], sandbox.inventory()[1])
            let stalled = online.assets[0].volume
            let start = sandbox.now
            #expect(sandbox.setOffline(serialNumber: offline.serialNumber))
            #expect(sandbox.stallOffsite(volume: stalled))

            try await harness.move(to: start.addingTimeInterval(2 * 3_600))
            #expect(try await eventually { try await harness.alertList().count == 1 })
            let alert = try #require(try await harness.alertList().first)
            #expect(alert.type == "device-offline")
            #expect(alert.severity.rawValue == "high")
            #expect(alert.subjectId == StableID.device(tenant: "default", serial: offline.serialNumber))
            #expect(alert.agentId == nil, "about the appliance, not an agent")
            #expect(alert.deviceSerial == offline.serialNumber)
            #expect(alert.lastError == "Appliance offline: last check-in 2 h ago")

            // Two days offline: still the one alert, and its agents' missing backups are not reported one by one.
            try await harness.move(to: start.addingTimeInterval(50 * 3_600))
            #expect(try await eventually { try await harness.alertList("?type=offsite-stale").count == 1 })
            #expect(try await harness.alertList("?type=device-offline").count == 1)
            #expect(try await harness.alertList("?type=backup-missed").isEmpty)
            #expect(try await harness.alertList().count == 2)
            let offsite = try #require(try await harness.alertList("?type=offsite-stale").first)
            #expect(offsite.severity.rawValue == "medium")
            #expect(offsite.agentId == StableID.agent(tenant: "default", deviceSerial: online.serialNumber, volume: stalled))
            #expect((offsite.lastError)?.hasPrefix("Latest offsite copy is ") == true, "\(offsite)")
            let card = try #require(
                try await harness.card(
                    customer: StableID.customer(tenant: "default", key: expectedCustomerKey(offline)),
                    agent: StableID.agent(tenant: "default", deviceSerial: offline.serialNumber, volume: offline.assets[0].volume)))
            #expect(card.state == .deviceOffline)
            #expect(card.headline == "Appliance offline: last check-in 50 h ago")

            // Back: it checks in with the runs it took meanwhile, and replication catches up.
            #expect(sandbox.setOffline(serialNumber: offline.serialNumber, false))
            #expect(sandbox.stallOffsite(volume: stalled, false))
            try await harness.move(to: sandbox.now.addingTimeInterval(3_600))
            #expect(try await eventually { try await harness.alertList("?state=open").isEmpty })
            for resolved in try await harness.alertList() {
                #expect(resolved.resolvedReason == "recovered", "\(resolved)")
            }
            // Its agents are judged again once read after its return: backed up meanwhile, so nothing to say.
            try await harness.move(to: sandbox.now.addingTimeInterval(3_600))
            #expect(try await harness.alertList().count == 2)
            #expect(try await harness.alertList("?type=backup-missed").isEmpty)
        }
    }

    @Test(
        "a backup-missed rule opens one ticket on the second day of silence, notes the third, closes on recovery; a device-offline rule tickets the appliance once"
    )
    func silenceRules() async throws {
        let fleet = Self.fleet(devices: 2, agentsPerDevice: 2)
        try await SystemHarness.with(fleet: fleet, silence: Self.settings) { harness in
            let sandbox = harness.sandbox
            let psa = harness.psa
            try await harness.configure()
            try await harness.waitForHistory()
            let missedRule = try await harness.enableRule("connectwise", template: "datto-missed-2-nights")
            let offlineRule = try await harness.enableRule("halopsa", template: "datto-device-offline")
            let (first, second) = (sandbox.inventory()[0], sandbox.inventory()[1])
            try await harness.map(
                "connectwise", customer: StableID.customer(tenant: "default", key: expectedCustomerKey(first)), company: "250")
            try await harness.map(
                "halopsa", customer: StableID.customer(tenant: "default", key: expectedCustomerKey(second)), company: "260")
            let silent = first.assets[0]
            let lastSuccess = try #require(
                sandbox.visibleRunDetails().filter { $0.volume == silent.volume && $0.succeeded }.map(\.timestamp).max())
            #expect(sandbox.silence(volume: silent.volume))
            #expect(sandbox.setOffline(serialNumber: second.serialNumber))

            try await harness.move(to: lastSuccess.addingTimeInterval(27 * 3_600))
            #expect(try await eventually { psa.tickets(psa: "halopsa").count == 1 }, "the offline appliance: one ticket, at once")
            let offlineTicket = try #require(psa.tickets(psa: "halopsa").first)
            #expect(offlineTicket.companyId == 260)
            #expect(offlineTicket.summary.hasPrefix("Datto appliance offline: "), "\(offlineTicket.summary)")
            #expect(psa.tickets(psa: "connectwise").isEmpty, "day 1 of the missed backups: not yet a ticket")

            try await harness.move(to: lastSuccess.addingTimeInterval(51 * 3_600))
            #expect(try await eventually { psa.tickets(psa: "connectwise").count == 1 })
            let ticket = try #require(psa.tickets(psa: "connectwise").first)
            #expect(ticket.companyId == 250)
            #expect(ticket.summary == "Datto backups missed: \(silent.name)")
            #expect(ticket.details.contains("No successful backup for 51 h"), "\(ticket.details)")

            try await harness.move(to: lastSuccess.addingTimeInterval(75 * 3_600))
            #expect(try await eventually { psa.tickets(psa: "connectwise").first?.notes.count == 1 })
            #expect(psa.tickets(psa: "halopsa").count == 1, "still one ticket for the appliance")

            #expect(sandbox.resume(volume: silent.volume))
            #expect(sandbox.setOffline(serialNumber: second.serialNumber, false))
            try await harness.move(to: sandbox.now.addingTimeInterval(25 * 3_600))
            #expect(try await eventually { psa.tickets(psa: "connectwise").first?.closed == true })
            #expect(try await eventually { psa.tickets(psa: "halopsa").first?.closed == true })
            #expect(psa.tickets(psa: "connectwise").count == 1)
            #expect(psa.tickets(psa: "connectwise").first?.notes.last?.contains("a successful backup arrived") == true)
            let kinds = try await harness.history(missedRule).map(\.kind)
            #expect(kinds.filter { $0 == "ticket-open" }.count == 1)
            #expect(try await harness.history(offlineRule).map(\.kind).filter { $0 == "ticket-open" }.count == 1)
        }
    }

    @Test("restarting vectis-backups neither loses an open condition nor raises it twice")
    func survivesRestart() async throws {
        try await TestBus.with { bus in
            let collector = try ReliableNode(bus, service: "collector", instance: "collector-stand-in")
            let observer = try ReliableNode(
                bus, service: "alerts", instance: "observer", subscriptions: [.exact(BackupConditionChanged.topic)])
            #expect(await collector.waitUntilReady())
            #expect(await observer.waitUntilReady())
            let start = Date(timeIntervalSince1970: 1_795_000_000)
            let now = Mutex(start)
            let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-backups-\(UUID().uuidString)")
            var runtime = RuntimeConfiguration(
                service: "backups", instance: "test", httpPort: try freePort(), bus: bus.configuration(as: "backups"),
                dataDirectory: dataDirectory.path)
            runtime.delivery.heartbeatInterval = .milliseconds(200)
            var configuration = BackupsConfiguration(runtime: runtime, silence: Self.settings, clock: { now.withLock { $0 } })
            configuration.access = CollectorHarness.access
            let url = "http://127.0.0.1:\(runtime.httpPort)"
            let customer = CustomerRef(key: "org:1", name: "Acme")
            let serial = "SIRIS-1"

            func publish(_ events: [any BusEvent]) async throws {
                try await collector.database.write { db in
                    for event in events { try collector.bus.outbox.append(event, customerKey: customer.key, in: db) }
                }
            }
            /// What a poll at `time` reports; `stamped`: with the collector's read time, as the collector sends it.
            func seen(at time: Date, stamped: Bool = false) -> [any BusEvent] {
                let observedAt = stamped ? time : nil
                return [
                    DattoDeviceSeen(
                        serialNumber: serial, name: "ACME-SIRIS", customer: customer, lastSeenAt: time.addingTimeInterval(-60),
                        assetVolumes: ["a", "b"], observedAt: observedAt),
                    DattoAgentSeen(deviceSerial: serial, customer: customer, volume: "a", name: "ACME-DC01", observedAt: observedAt),
                    DattoAgentSeen(deviceSerial: serial, customer: customer, volume: "b", name: "ACME-FS01", observedAt: observedAt)
                ]
            }
            func success(_ volume: String, at time: Date) -> BackupRunObserved {
                BackupRunObserved(
                    deviceSerial: serial, agentVolume: volume, agentName: volume, customer: customer, runAt: time, rawStatus: "success")
            }
            func conditions() throws -> [String] { try observer.keys(BackupConditionChanged.topic) }
            func checks() async throws -> Int {
                // 0 until the service answers.
                guard let metrics = try? await HTTP.send("GET", url + "/metrics") else { return 0 }
                return metrics.body.split(separator: "\n")
                    .first { $0.hasPrefix("vectis_backups_silence_checks_total ") }
                    .flatMap { Double($0.split(separator: " ").last!) }.map { Int($0) } ?? 0
            }
            func runBackups(_ body: () async throws -> Void) async throws {
                let application = try BackupsService.buildApplication(configuration, logger: TestBus.quietLogger).application
                let group = ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)
                try await withRunning(group) {
                    #expect(try await eventually { try await checks() >= 1 })
                    try await body()
                }
            }
            let agentA = StableID.agent(tenant: "default", deviceSerial: serial, volume: "a")
            let agentB = StableID.agent(tenant: "default", deviceSerial: serial, volume: "b")
            let hubPath = "/v1/customers/\(StableID.customer(tenant: "default", key: customer.key))/backups"
            /// The agent's last run as the customer's hub shows it (nil until the service answers).
            func lastRun(of agentId: String) async throws -> Date? {
                guard let response = try? await HTTP.send("GET", url + hubPath, bearer: CollectorHarness.readToken) else { return nil }
                return try? HTTP.decode(CustomerBackups.self, response, "GET \(hubPath)").agents.first { $0.agentId == agentId }?.lastRunAt
            }

            try await runBackups {
                try await publish(
                    seen(at: start) + [
                        success("a", at: start.addingTimeInterval(-3_600)), success("b", at: start.addingTimeInterval(-3_600))
                    ])
                // B's backup of 26 h is applied before the clock reaches 27 h: a check between the two would find B silent.
                try await publish([success("b", at: start.addingTimeInterval(26 * 3_600))])
                #expect(try await eventually { try await lastRun(of: agentB) == start.addingTimeInterval(26 * 3_600) })
                now.withLock { $0 = start.addingTimeInterval(27 * 3_600) }
                try await publish(seen(at: start.addingTimeInterval(27 * 3_600)))
                #expect(try await eventually { try conditions() == ["backup-missed/started/\(serial)/a/1"] })
            }
            // While it is down, a poll at 51 h reports B's backup of 48 h; by the time it is back it is 75 h, and
            // that news is applied a day late: judged as of when it was read, B is fine and A on its second day.
            try await publish(
                seen(at: start.addingTimeInterval(51 * 3_600), stamped: true) + [success("b", at: start.addingTimeInterval(48 * 3_600))])
            now.withLock { $0 = start.addingTimeInterval(75 * 3_600) }
            try await runBackups {
                #expect(try await eventually { try conditions().count == 2 })
                let before = try await checks()
                #expect(try await eventually { try await checks() >= before + 5 })
                #expect(
                    try conditions() == ["backup-missed/started/\(serial)/a/1", "backup-missed/continued/\(serial)/a/2"],
                    "not raised again after the restart; late news judged as of its poll")
                let path = "/v1/customers/\(StableID.customer(tenant: "default", key: customer.key))/backups"
                let hub = try HTTP.decode(
                    CustomerBackups.self, try await HTTP.send("GET", url + path, bearer: CollectorHarness.readToken), "GET \(path)")
                #expect(hub.agents.first { $0.agentId == agentA }?.state == .missed, "the condition is still in force")

                try await publish(
                    seen(at: start.addingTimeInterval(75 * 3_600), stamped: true) + [
                        success("a", at: start.addingTimeInterval(74 * 3_600)),
                        success("b", at: start.addingTimeInterval(74 * 3_600))
                    ])
                #expect(try await eventually { try conditions().last == "backup-missed/ended/\(serial)/a/2" })
                #expect(try conditions().filter { $0.contains("/started/") }.count == 1)
                #expect(try conditions().allSatisfy { $0.contains("/a/") }, "B was never silent")
            }
            try await collector.stop()
            try await observer.stop()
        }
    }

    @Test("VECTIS_CLOCK_URL: a local run's backups service follows the Datto sandbox's clock when it is moved on")
    func followsSandboxClock() async throws {
        try await CollectorHarness.with(fleet: FleetConfiguration(customers: 1, devicesPerCustomer: 1)) { harness in
            harness.sandbox.advanceClock(by: 30 * 3_600)
            let configuration = try BackupsConfiguration(
                environment: Environment.development([
                    "VECTIS_CLOCK_URL": harness.sandboxURL + "/_sandbox/state", "VECTIS_DATA_DIR": harness.dataDirectory.path
                ]))
            let clock = SandboxClock(url: try #require(configuration.sandboxClockURL), logger: TestBus.quietLogger)
            let lead = try await clock.readLead()
            #expect(abs(lead - harness.sandbox.now.timeIntervalSinceNow) < 2, "\(lead)")
            #expect(lead > 29 * 3_600)
            #expect(throws: ConfigurationError.self) {
                try BackupsConfiguration(environment: Environment.development(["VECTIS_CLOCK_URL": "not a url"]))
            }
        }
    }

    @Test("windows: defaults, per-tenant and per-customer overrides (customer wins), 0 turns a check off, bad values refused")
    func windows() throws {
        let settings = try SilenceSettings(
            environment: Environment.development([
                "VECTIS_MISSED_BACKUP_HOURS": "30",
                "VECTIS_SILENCE_OVERRIDES":
                    #"{"tenants": {"msp-b": {"missedBackupHours": 50, "deviceOfflineHours": 2}}, "customers": {"c_1": {"missedBackupHours": 72, "offsiteStaleHours": 0}}}"#
            ]))
        #expect(settings.windows(tenant: "default", customerId: "c_9") == SilenceWindows(missedBackupHours: 30))
        #expect(settings.windows(tenant: "msp-b", customerId: "c_9") == SilenceWindows(missedBackupHours: 50, deviceOfflineHours: 2))
        #expect(
            settings.windows(tenant: "msp-b", customerId: "c_1")
                == SilenceWindows(missedBackupHours: 72, deviceOfflineHours: 2, offsiteStaleHours: 0))
        #expect(throws: ConfigurationError.self) {
            try SilenceSettings(environment: Environment.development(["VECTIS_SILENCE_OVERRIDES": "{not json"]))
        }
        #expect(throws: ConfigurationError.self) {
            try SilenceSettings(environment: Environment.development(["VECTIS_OFFSITE_STALE_HOURS": "-1"]))
        }
        #expect(throws: ConfigurationError.self) {
            try SilenceSettings(
                environment: Environment.development(["VECTIS_SILENCE_OVERRIDES": #"{"customers": {"c_1": {"missedBackupHours": 1e308}}}"#])
            )
        }
    }
}
