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

/// `vectis-rules` as a process, killed in the middle of a PSA call.
@Suite("Rules service restarted mid-call", .serialized)
struct RulesProcessTests {
    @Test("vectis-rules killed while a create is in flight opens no second ticket when it comes back")
    func killedDuringCreate() async throws {
        let bus = try await BusProcess.start()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-rules-\(UUID().uuidString)").path
        let psaPort = try freePort()
        let psa = try RunningProcess("vectis-sandbox", ["psa", "--port", "\(psaPort)"])
        try await psa.waitForOutput("Server started and listening")
        let rulesPort = try freePort()
        let environment = [
            "VECTIS_BUS_PUBLISH": bus.publish, "VECTIS_BUS_SUBSCRIBE": bus.subscribe, "VECTIS_DATA_DIR": data,
            "VECTIS_ADMIN_TOKEN": "rules-token-0123456789", "VECTIS_HEARTBEAT_INTERVAL_MS": "500", "VECTIS_HTTP_PORT": "\(rulesPort)",
            "VECTIS_PSA_TIMEOUT_SECONDS": "10"
        ]
        var rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
        let base = "http://127.0.0.1:\(rulesPort)"
        let credentials = PSASandboxCredentials()
        let created = try await HTTP.send(
            "POST", base + "/v1/rules",
            [
                "templateId": "datto-fails-2-nights-connectwise", "dryRunHours": 0,
                "settings": [
                    "site": "http://127.0.0.1:\(psaPort)/cw", "companyId": credentials.connectWiseCompany,
                    "publicKey": credentials.connectWisePublicKey, "boardId": 1, "closedStatusId": 20
                ],
                "secrets": ["privateKey": credentials.connectWisePrivateKey, "clientId": credentials.connectWiseClientId]
            ], bearer: "rules-token-0123456789")
        #expect(created.status == 201, "\(created.body)")
        let customer = CustomerRef(key: "org:1", name: "Acme")
        let customerId = StableID.customer(tenant: "default", key: customer.key)
        _ = try await HTTP.send(
            "PUT", base + "/v1/psa-mappings/connectwise/\(customerId)", ["companyId": "250"], bearer: "rules-token-0123456789")

        // The PSA will take 4 s to answer the create: kill the rules service while it waits.
        _ = try await HTTP.send(
            "POST", "http://127.0.0.1:\(psaPort)/_sandbox/faults",
            ["fault": "create-then-timeout", "method": "POST", "path": "/service/tickets", "delayMilliseconds": 4_000])
        let publisher = try ReliableNodeHost(bus: bus)
        try await publisher.publishFailedNights(customer: customer, nights: 2)
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let lines = try await HTTP.send("GET", "http://127.0.0.1:\(psaPort)/_sandbox/tickets").body
                return lines.contains("\"psa\":\"connectwise\"")
            }, "the create reached the PSA")
        rules.signal(SIGKILL)
        _ = await rules.waitForExit()

        rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
        #expect(
            try await eventually(timeout: .seconds(30)) {
                let answer = try await HTTP.send("GET", base + "/v1/tickets", bearer: "rules-token-0123456789")
                return try HTTP.decode(TicketList.self, answer, "GET /v1/tickets").tickets.first?.state == .open
            })
        let stored =
            try JSONSerialization.jsonObject(
                with: Data(try await HTTP.send("GET", "http://127.0.0.1:\(psaPort)/_sandbox/tickets").body.utf8)) as? [[String: Any]] ?? []
        #expect(stored.count == 1, "exactly one ticket in the PSA")
        let history = try await HTTP.send("GET", base + "/v1/rules/ru_1/history", bearer: "rules-token-0123456789").body
        #expect(history.contains("not created again"))
        try await publisher.stop()
        for process in [rules, psa, bus.process] { process.signal(SIGTERM) }
        for process in [rules, psa, bus.process] { #expect(await process.waitForExit(timeout: .seconds(10)) == 0) }
    }
}

extension RulesProcessTests {
    @Test(
        "vectis-rules killed after reopening a ticket a person closed, and again after adding its note, before recording either: one reopen, one note"
    )
    func killedDuringReopenAndNote() async throws {
        let bus = try await BusProcess.start()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-rules-\(UUID().uuidString)").path
        let psaPort = try freePort()
        let psa = try RunningProcess("vectis-sandbox", ["psa", "--port", "\(psaPort)"])
        try await psa.waitForOutput("Server started and listening")
        let rulesPort = try freePort()
        let token = "rules-token-0123456789"
        let environment = [
            "VECTIS_BUS_PUBLISH": bus.publish, "VECTIS_BUS_SUBSCRIBE": bus.subscribe, "VECTIS_DATA_DIR": data, "VECTIS_ADMIN_TOKEN": token,
            "VECTIS_HEARTBEAT_INTERVAL_MS": "500", "VECTIS_HTTP_PORT": "\(rulesPort)", "VECTIS_PSA_TIMEOUT_SECONDS": "10"
        ]
        var rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
        let base = "http://127.0.0.1:\(rulesPort)"
        let sandbox = "http://127.0.0.1:\(psaPort)"
        let credentials = PSASandboxCredentials()
        let created = try await HTTP.send(
            "POST", base + "/v1/rules",
            [
                "templateId": "datto-fails-2-nights-connectwise", "dryRunHours": 0,
                "settings": [
                    "site": "\(sandbox)/cw", "companyId": credentials.connectWiseCompany, "publicKey": credentials.connectWisePublicKey,
                    "boardId": 1, "closedStatusId": 20
                ],
                "secrets": ["privateKey": credentials.connectWisePrivateKey, "clientId": credentials.connectWiseClientId]
            ], bearer: token)
        #expect(created.status == 201, "\(created.body)")
        let customer = CustomerRef(key: "org:1", name: "Acme")
        _ = try await HTTP.send(
            "PUT", base + "/v1/psa-mappings/connectwise/\(StableID.customer(tenant: "default", key: customer.key))", ["companyId": "250"],
            bearer: token)
        func tickets() async throws -> [SandboxTicket] {
            try JSONDecoder().decode([SandboxTicket].self, from: Data(try await HTTP.send("GET", sandbox + "/_sandbox/tickets").body.utf8))
        }
        let publisher = try ReliableNodeHost(bus: bus)
        try await publisher.publishFailedNights(customer: customer, nights: 2)
        #expect(try await eventually(timeout: .seconds(20)) { try await tickets().count == 1 })
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let answer = try await HTTP.send("GET", base + "/v1/tickets", bearer: token)
                return try HTTP.decode(TicketList.self, answer, "GET /v1/tickets").tickets.first?.state == .open
            })
        let ticket = try #require(try await tickets().first)

        // A technician closes it; the PSA will apply the reopen and then the note, each answered only after 4 s.
        #expect(try await HTTP.send("POST", sandbox + "/_sandbox/tickets/connectwise/\(ticket.id)/close").status == 204)
        for path in ["/service/tickets/\(ticket.id)/notes", "/service/tickets/\(ticket.id)"] {
            _ = try await HTTP.send(
                "POST", sandbox + "/_sandbox/faults",
                [
                    "fault": "create-then-timeout", "method": path.hasSuffix("notes") ? "POST" : "PATCH", "path": path,
                    "delayMilliseconds": 4_000
                ])
        }
        try await publisher.publishFailedNights(customer: customer, nights: 3)
        #expect(try await eventually(timeout: .seconds(20)) { try await tickets().first?.closed == false }, "the reopen reached the PSA")
        rules.signal(SIGKILL)
        _ = await rules.waitForExit()
        rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
        #expect(try await eventually(timeout: .seconds(20)) { try await tickets().first?.notes.count == 1 }, "the note reached the PSA")
        rules.signal(SIGKILL)
        _ = await rules.waitForExit()
        rules = try RunningProcess("vectis-rules", [], environment: environment)
        try await rules.waitForOutput("Server started and listening")
        #expect(
            try await eventually(timeout: .seconds(30)) {
                try await HTTP.send("GET", base + "/v1/rules/ru_1/history", bearer: token).body.contains("not added twice")
            })
        try await Task.sleep(for: .seconds(1))
        let after = try #require(try await tickets().first)
        #expect(after.reopens == 1 && !after.closed, "exactly one reopen: \(after)")
        #expect(after.notes.count == 1 && after.notes[0].contains("Still failing"), "exactly one note: \(after.notes)")
        #expect(try await tickets().count == 1)
        let history = try await HTTP.send("GET", base + "/v1/rules/ru_1/history", bearer: token).body
        #expect(history.contains("is open already"), "the reopen found in flight was not repeated")
        try await publisher.stop()
        for process in [rules, psa, bus.process] { process.signal(SIGTERM) }
        for process in [rules, psa, bus.process] { #expect(await process.waitForExit(timeout: .seconds(10)) == 0) }
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
