import Foundation
import GRDB
import PSASandbox
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `vectis-rules` as a process beside the bus and the PSA sandbox (also processes), with the ConnectWise template
/// live and Acme mapped to company 250: what each restart test starts from.
struct RulesProcessRig {
    static let token = "rules-token-0123456789"
    let bus: BusProcess
    let psa: RunningProcess
    let psaURL: String
    let base: String
    let environment: [String: String]
    let customer = CustomerRef(key: "org:1", name: "Acme")
    var rules: RunningProcess

    static func start() async throws -> RulesProcessRig {
        let bus = try await BusProcess.start()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-rules-\(UUID().uuidString)").path
        let psaPort = try freePort()
        let psa = try RunningProcess("vectis-sandbox", ["psa", "--port", "\(psaPort)"])
        try await psa.waitForOutput("Server started and listening")
        let rulesPort = try freePort()
        let environment = [
            "VECTIS_BUS_PUBLISH": bus.publish, "VECTIS_BUS_SUBSCRIBE": bus.subscribe, "VECTIS_DATA_DIR": data,
            "VECTIS_ADMIN_TOKEN": token, "VECTIS_HEARTBEAT_INTERVAL_MS": "500", "VECTIS_HTTP_PORT": "\(rulesPort)",
            "VECTIS_PSA_TIMEOUT_SECONDS": "10"
        ]
        let rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
        let rig = RulesProcessRig(
            bus: bus, psa: psa, psaURL: "http://127.0.0.1:\(psaPort)", base: "http://127.0.0.1:\(rulesPort)", environment: environment,
            rules: rules)
        let credentials = PSASandboxCredentials()
        let created = try await HTTP.send(
            "POST", rig.base + "/v1/rules",
            [
                "templateId": "datto-fails-2-nights-connectwise", "dryRunHours": 0,
                "settings": [
                    "site": "\(rig.psaURL)/cw", "companyId": credentials.connectWiseCompany, "publicKey": credentials.connectWisePublicKey,
                    "boardId": 1, "closedStatusId": 20
                ],
                "secrets": ["privateKey": credentials.connectWisePrivateKey, "clientId": credentials.connectWiseClientId]
            ], bearer: token)
        #expect(created.status == 201, "\(created.body)")
        _ = try await HTTP.send(
            "PUT", rig.base + "/v1/psa-mappings/connectwise/\(StableID.customer(tenant: "default", key: rig.customer.key))",
            ["companyId": "250"], bearer: token)
        return rig
    }

    /// SIGKILL, then a new `vectis-rules` on the same data.
    mutating func killAndRestart() async throws {
        rules.signal(SIGKILL)
        _ = await rules.waitForExit()
        rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
    }

    /// The PSA answers `method path` only after 4 s, having applied it.
    func answerLate(_ method: String, _ path: String) async throws {
        _ = try await HTTP.send(
            "POST", psaURL + "/_sandbox/faults",
            ["fault": "create-then-timeout", "method": method, "path": path, "delayMilliseconds": 4_000])
    }

    func psaTickets() async throws -> [SandboxTicket] {
        try JSONDecoder().decode([SandboxTicket].self, from: Data(try await HTTP.send("GET", psaURL + "/_sandbox/tickets").body.utf8))
    }

    func serviceTickets() async throws -> [TicketView] {
        try HTTP.decode(TicketList.self, try await HTTP.send("GET", base + "/v1/tickets", bearer: Self.token), "GET /v1/tickets").tickets
    }

    func history() async throws -> String {
        try await HTTP.send("GET", base + "/v1/rules/ru_1/history", bearer: Self.token).body
    }

    func stop() async {
        for process in [rules, psa, bus.process] { process.signal(SIGTERM) }
        for process in [rules, psa, bus.process] { #expect(await process.waitForExit(timeout: .seconds(10)) == 0) }
    }
}

/// `vectis-rules` as a process, killed in the middle of a PSA call.
@Suite("Rules service restarted mid-call", .serialized)
struct RulesProcessTests {
    @Test("vectis-rules killed while a create is in flight opens no second ticket when it comes back")
    func killedDuringCreate() async throws {
        var rig = try await RulesProcessRig.start()
        // The PSA will take 4 s to answer the create: kill the rules service while it waits.
        try await rig.answerLate("POST", "/service/tickets")
        let publisher = try ReliableNodeHost(bus: rig.bus)
        try await publisher.publishFailedNights(customer: rig.customer, nights: 2)
        #expect(try await eventually(timeout: .seconds(20)) { try await rig.psaTickets().count == 1 }, "the create reached the PSA")
        try await rig.killAndRestart()
        #expect(try await eventually(timeout: .seconds(30)) { try await rig.serviceTickets().first?.state == .open })
        #expect(try await rig.psaTickets().count == 1, "exactly one ticket in the PSA")
        #expect(try await rig.history().contains("not created again"))
        try await publisher.stop()
        await rig.stop()
    }

    @Test(
        "vectis-rules killed after reopening a ticket a person closed, and again after adding its note, before recording either: one reopen, one note"
    )
    func killedDuringReopenAndNote() async throws {
        var rig = try await RulesProcessRig.start()
        let publisher = try ReliableNodeHost(bus: rig.bus)
        try await publisher.publishFailedNights(customer: rig.customer, nights: 2)
        #expect(try await eventually(timeout: .seconds(20)) { try await rig.psaTickets().count == 1 })
        #expect(try await eventually(timeout: .seconds(20)) { try await rig.serviceTickets().first?.state == .open })
        let ticket = try #require(try await rig.psaTickets().first)

        // A technician closes it; the PSA will apply the reopen and then the note, each answered only after 4 s.
        #expect(try await HTTP.send("POST", rig.psaURL + "/_sandbox/tickets/connectwise/\(ticket.id)/close").status == 204)
        try await rig.answerLate("POST", "/service/tickets/\(ticket.id)/notes")
        try await rig.answerLate("PATCH", "/service/tickets/\(ticket.id)")
        try await publisher.publishFailedNights(customer: rig.customer, nights: 3)
        #expect(
            try await eventually(timeout: .seconds(20)) { try await rig.psaTickets().first?.closed == false }, "the reopen reached the PSA")
        try await rig.killAndRestart()
        #expect(
            try await eventually(timeout: .seconds(20)) { try await rig.psaTickets().first?.notes.count == 1 }, "the note reached the PSA")
        try await rig.killAndRestart()
        #expect(try await eventually(timeout: .seconds(30)) { try await rig.history().contains("not added twice") })
        try await Task.sleep(for: .seconds(1))
        let after = try #require(try await rig.psaTickets().first)
        #expect(after.reopens == 1 && !after.closed, "exactly one reopen: \(after)")
        #expect(after.notes.count == 1 && after.notes[0].contains("Still failing"), "exactly one note: \(after.notes)")
        #expect(try await rig.psaTickets().count == 1)
        #expect(try await rig.history().contains("is open already"), "the reopen found in flight was not repeated")
        try await publisher.stop()
        await rig.stop()
    }
}

/// Publishes `backup.job.recorded` events like vectis-backups would, from this test process, with an outbox.
struct ReliableNodeHost {
    let node: ReliableNode
    let bus: BusProcess

    init(bus: BusProcess) throws {
        self.bus = bus
        let configuration = BusConfigurationFactory.make(publish: bus.publish, subscribe: bus.subscribe)
        node = try ReliableNode(configuration, instance: "backups-stand-in")
    }

    func publishFailedNights(customer: CustomerRef, nights: Int) async throws {
        _ = await node.waitUntilReady()
        try await node.database.write { [node] db in
            for night in 1...nights {
                try node.bus.outbox.append(
                    BackupJobRecorded(
                        jobId: Int64(night), deviceSerial: "SERIAL1", agentVolume: "vol-1", agentName: "ACME-DC01", customer: customer,
                        runAt: Date(timeIntervalSince1970: 1_790_000_000 + Double(night) * 86_400), status: .failure, rawStatus: "failure",
                        errorMessage: "BKP0615", night: "2026-09-2\(night)", failedNightsInARow: night, currentlyFailing: true),
                    tenant: "default", customerKey: customer.key, in: db)
            }
        }
    }

    func stop() async throws { try await node.stop() }
}
