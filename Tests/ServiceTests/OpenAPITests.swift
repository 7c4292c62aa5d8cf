import AlertsService
import AssetsService
import BackupsService
import BusService
import CollectorService
import Foundation
import PSASandbox
import Testing
import VectisAPI
import VectisContracts
import VectisRuntime
import VectisTestSupport

@testable import RulesService

#if canImport(Glibc)
    import Glibc
#endif

/// `docs/openapi/<service>.json` against what the services really serve: the routes, and schemathesis
/// (property-based HTTP fuzzing from the documents) against the running processes.
@Suite("OpenAPI documents", .serialized)
struct OpenAPITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let services = ["bus", "collector", "assets", "backups", "alerts", "rules"]

    static func document(_ service: String) throws -> [String: Any] {
        let data = try Data(contentsOf: repository.appendingPathComponent("docs/openapi/\(service).json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// `GET /v1/alerts/{id}` for every operation in the document.
    static func documentedRoutes(_ service: String) throws -> [String] {
        let paths = try document(service)["paths"] as? [String: [String: Any]] ?? [:]
        let methods: Set = ["get", "put", "post", "delete", "patch", "head", "options"]
        return paths.flatMap { path, operations in
            operations.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
        }.sorted()
    }

    @Test("each service's document lists exactly the routes it registers", arguments: services)
    func routesMatch(service: String) async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-openapi-\(UUID().uuidString)").path
        let runtime = RuntimeConfiguration(service: service, instance: "openapi", httpPort: 0, dataDirectory: data)
        let routes: [String]
        switch service {
        case "bus": routes = BusService.buildApplication(BusServerConfiguration()).routes
        case "collector":
            routes = try CollectorService.buildApplication(
                CollectorConfiguration(runtime: runtime, adminToken: "t", secretKeyFile: data + "/secret.key")
            ).routes
        case "assets": routes = try AssetsService.buildApplication(AssetsConfiguration(runtime: runtime)).routes
        case "backups": routes = try BackupsService.buildApplication(BackupsConfiguration(runtime: runtime)).routes
        case "alerts": routes = try AlertsService.buildApplication(AlertsConfiguration(runtime: runtime)).routes
        default:
            routes = try RulesService.buildApplication(
                RulesConfiguration(runtime: runtime, adminToken: "t", secretKeyFile: data + "/rules-secret.key")
            ).routes
        }
        let documented = try Self.documentedRoutes(service)
        #expect(Set(routes).subtracting(documented).sorted() == [], "served by vectis-\(service) but not in docs/openapi/\(service).json")
        #expect(Set(documented).subtracting(routes).sorted() == [], "in docs/openapi/\(service).json but not served")
        #expect(documented.count == Set(documented).count)
    }

    /// The `enum` a document lists at `schema`/`property` (or the schema itself when `property` is nil).
    static func documentedEnum(_ service: String, _ schema: String, _ property: String?) throws -> [String] {
        let schemas = (try document(service)["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]
        var node = schemas[schema] as? [String: Any] ?? [:]
        if let property { node = (node["properties"] as? [String: Any])?[property] as? [String: Any] ?? [:] }
        if let items = node["items"] as? [String: Any] { node = items }
        return node["enum"] as? [String] ?? []
    }

    @Test("every value list the documents give is exactly the Swift type's cases (one source of truth per shape)")
    func enumsMatchTheTypes() throws {
        let templates = RuleTemplate.all.map(\.id)
        let expected: [(String, String, String?, [String])] = [
            ("collector", "DattoIntegration", "status", DattoSyncStatus.allCases.map(\.rawValue)),
            ("collector", "ConnectionTestResult", "kind", DattoProblemKind.allCases.map(\.rawValue)),
            ("backups", "RunView", "status", BackupJobRecorded.Status.allCases.map(\.rawValue)),
            ("backups", "RunView", "kind", DattoAgentSeen.Kind.allCases.map(\.rawValue)),
            ("backups", "AgentCard", "state", AgentCard.State.allCases.map(\.rawValue)),
            ("backups", "AgentCard", "kind", DattoAgentSeen.Kind.allCases.map(\.rawValue)),
            ("assets", "Agent", "kind", DattoAgentSeen.Kind.allCases.map(\.rawValue)),
            ("backups", "Condition", "type", BackupConditionChanged.Kind.allCases.map(\.rawValue)),
            ("backups", "RollUp", nil, RollUp.allCases.map(\.rawValue)),
            ("backups", "NightCell", "status", NightCell.Status.allCases.map(\.rawValue)),
            ("backups", "CustomerGrid", "rollUpSource", CustomerGrid.RollUpSource.allCases.map(\.rawValue)),
            ("alerts", "Alert", "type", ["backup-job-failure", "datto-alert"] + BackupConditionChanged.Kind.allCases.map(\.rawValue)),
            ("alerts", "Alert", "severity", AlertSeverity.allCases.map(\.rawValue)),
            ("alerts", "Alert", "state", AlertState.allCases.map(\.rawValue)),
            ("alerts", "MuteRequest", "scope", MuteScope.allCases.map(\.rawValue)),
            ("alerts", "MuteCreated", "scope", MuteScope.allCases.map(\.rawValue)),
            ("rules", "PSAKind", nil, PSAKind.allCases.map(\.rawValue)),
            ("rules", "NewRule", "action", RuleAction.allCases.map(\.rawValue)),
            ("rules", "RuleChange", "action", RuleAction.allCases.map(\.rawValue)),
            ("rules", "Rule", "action", RuleAction.allCases.map(\.rawValue)),
            ("rules", "Rule", "trigger", RuleTrigger.allCases.map(\.rawValue)),
            ("rules", "RuleTemplate", "trigger", RuleTrigger.allCases.map(\.rawValue)),
            ("rules", "RuleTemplate", "actions", RuleAction.allCases.map(\.rawValue)),
            ("rules", "NewRule", "templateId", templates),
            ("rules", "Rule", "templateId", templates),
            ("rules", "RuleTemplate", "id", templates),
            ("rules", "Ticket", "state", TicketView.State.allCases.map(\.rawValue)),
            ("rules", "Ticket", "closedBy", TicketView.Closer.allCases.map(\.rawValue)),
            ("rules", "Ticket", "psaState", TicketView.PSAState.allCases.map(\.rawValue)),
            ("rules", "Ticket", "agentClass", AgentClass.allCases.map(\.rawValue)),
            ("rules", "Rule", "whenClosedByPerson", WhenClosedByPerson.allCases.map(\.rawValue)),
            ("rules", "NewRule", "whenClosedByPerson", WhenClosedByPerson.allCases.map(\.rawValue)),
            ("rules", "RuleChange", "whenClosedByPerson", WhenClosedByPerson.allCases.map(\.rawValue)),
            ("rules", "PSAField", "kind", PSAField.Kind.allCases.map(\.rawValue)),
            ("rules", "NewChannel", "kind", ChannelKind.allCases.map(\.rawValue)),
            ("rules", "Channel", "kind", ChannelKind.allCases.map(\.rawValue)),
            ("rules", "Channel", "status", ChannelView.Status.allCases.map(\.rawValue)),
            ("rules", "ChannelSettings", "smtpSecurity", SMTPSecurity.allCases.map(\.rawValue)),
            ("rules", "ChannelSettings", "teamsFormat", TeamsFormat.allCases.map(\.rawValue)),
            ("rules", "Notification", "event", NotificationEvent.allCases.map(\.rawValue)),
            ("rules", "WebhookPayload", "event", NotificationEvent.allCases.map(\.rawValue)),
            ("rules", "Notification", "state", NotificationView.State.allCases.map(\.rawValue))
        ]
        for (service, schema, property, values) in expected {
            let documented = try Self.documentedEnum(service, schema, property)
            #expect(
                Set(documented) == Set(values), "\(service) \(schema).\(property ?? "") documents \(documented), the code has \(values)")
        }
    }

    @Test("every operation has an operationId, a summary, its responses, and a security choice")
    func documentsAreComplete() throws {
        for service in Self.services {
            let document = try Self.document(service)
            #expect((document["openapi"] as? String)?.hasPrefix("3.") == true, "\(service)")
            let paths = document["paths"] as? [String: [String: Any]] ?? [:]
            for (path, operations) in paths {
                for (method, value) in operations where method != "parameters" {
                    let operation = value as? [String: Any] ?? [:]
                    #expect(operation["operationId"] is String, "\(service) \(method) \(path): operationId")
                    #expect(operation["summary"] is String, "\(service) \(method) \(path): summary")
                    #expect(!((operation["responses"] as? [String: Any]) ?? [:]).isEmpty, "\(service) \(method) \(path): responses")
                    #expect(operation["security"] != nil || document["security"] != nil, "\(service) \(method) \(path): security")
                }
            }
        }
    }

    @Test("schemathesis finds no server error in any service's API", .timeLimit(.minutes(10)))
    func schemathesisFindsNoServerError() async throws {
        let probe = try RunningProcess("/usr/bin/env", ["python3", "-c", "import schemathesis"])
        guard await probe.waitForExit() == 0 else {
            Issue.record("schemathesis is not installed: scripts/install-deps.sh installs it (python3 -m pip install schemathesis)")
            return
        }
        let dattoPort = try freePort()
        let psaPort = try freePort()
        let datto = try RunningProcess("vectis-sandbox", ["datto", "--port", "\(dattoPort)"])
        try await datto.waitForOutput("Server started and listening")
        let psa = try RunningProcess("vectis-sandbox", ["psa", "--port", "\(psaPort)"])
        try await psa.waitForOutput("Server started and listening")
        let cluster = try await ChaosCluster(dattoURL: "http://127.0.0.1:\(dattoPort)/v1")
        try await cluster.waitUntilReady()
        // Give the fuzzer something to find: a synced fleet, alerts and a rule.
        _ = try await HTTP.send(
            "PUT", await cluster.url(.collector) + "/v1/integrations/datto",
            [
                "publicKey": "sandbox-public-key", "secretKey": "sandbox-secret-7c4f1e9a2b", "region": "us"
            ], bearer: ChaosCluster.token)

        // Real identifiers for the operations that take one, so the responses checked against their schemas are
        // the full answers about real customers, agents, alerts and rules (random ids only ever reach the 404).
        let identifiers = try await Self.realIdentifiers(cluster, psa: "http://127.0.0.1:\(psaPort)")

        var failures: [String] = []
        for service in Self.services {
            let part = ChaosCluster.Part(rawValue: service)!
            let base = await cluster.url(part)
            let config = try identifiers.write(
                for: Set(try Self.documentedRoutes(service).map { String($0.split(separator: " ")[1]) }),
                to: FileManager.default.temporaryDirectory.appendingPathComponent(
                    "vectis-schemathesis-\(service)-\(UUID().uuidString).toml"
                ).path)
            defer { try? FileManager.default.removeItem(atPath: config) }
            let report = FileManager.default.temporaryDirectory.appendingPathComponent(
                "vectis-schemathesis-\(service)-\(UUID().uuidString)"
            ).path
            // One worker: with two, hypothesis describes strategies from two threads at once, and Python 3.11.7's
            // ast.parse is not thread-safe ("SystemError: AST constructor recursion depth mismatch"), which failed
            // two runs in three as a schemathesis "Runtime Error" once the rules document grew; one is as fast here.
            let run = try RunningProcess(
                "/usr/bin/env",
                [
                    "python3", "-m", "schemathesis.cli", "--config-file", config, "run",
                    Self.repository.appendingPathComponent("docs/openapi/\(service).json").path, "--url", base,
                    "--header", "Authorization: Bearer \(ChaosCluster.token)",
                    "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
                    "--max-examples", "25", "--seed", "1", "--workers", "1",
                    // A live stream never ends on its own: its doors have their own tests (ConsoleLiveTests).
                    "--exclude-path", "/v1/events",
                    "--request-timeout", "20", "--no-color", "--suppress-health-check", "all", "--report", "junit",
                    "--report-dir", report
                ], environment: ["SCHEMATHESIS_HOOKS": ""])
            let status = await run.waitForExit(timeout: .seconds(240))
            let summary = run.stdout.split(separator: "\n").suffix(25).joined(separator: "\n")
            print("schemathesis vectis-\(service): exit \(status.map(String.init) ?? "timeout")\n\(summary)")
            if status != 0 { failures.append("vectis-\(service):\n\(run.stdout.suffix(6_000))\n\(run.stderr.suffix(2_000))") }
            // Every service is still up after being fuzzed.
            #expect((try? await HTTP.send("GET", base + "/healthz").status) == 200, "vectis-\(service) still answers")
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n\n"))")
        await cluster.stop()
        for process in [datto, psa] { process.signal(SIGTERM) }
        for process in [datto, psa] { _ = await process.waitForExit(timeout: .seconds(10)) }
    }

    /// One `[[operations]]` entry per path that takes an identifier, with a real one from the running system.
    struct SchemathesisConfig {
        var operations: [(path: String, parameters: [String: String])] = []

        /// Writes the entries for the paths one document has.
        func write(for paths: Set<String>, to path: String) throws -> String {
            let text: String = operations.filter { paths.contains($0.path) }.map { operation -> String in
                let parameters = operation.parameters.sorted { $0.key < $1.key }.map { "\($0.key) = \"\($0.value)\"" }
                return "[[operations]]\ninclude-path = \"\(operation.path)\"\nparameters = { \(parameters.joined(separator: ", ")) }\n"
            }.joined(separator: "\n")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    /// Waits (up to two minutes) for the synced fleet to show a customer with an agent and an open alert, and
    /// creates a rule, then names them.
    static func realIdentifiers(_ cluster: ChaosCluster, psa: String) async throws -> SchemathesisConfig {
        let token = ChaosCluster.token
        let assets = await cluster.url(.assets)
        let alerts = await cluster.url(.alerts)
        let rules = await cluster.url(.rules)
        var customer: String?
        var serial: String?
        var agent: String?
        var alert: String?
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline, customer == nil || agent == nil || alert == nil {
            func get<T: Decodable>(_ base: String, _ path: String, as type: T.Type) async throws -> T {
                try HTTP.decode(T.self, try await HTTP.send("GET", base + path, bearer: token), "GET \(path)")
            }
            for candidate in try await get(assets, "/v1/customers", as: CustomerList.self).customers where agent == nil {
                let hub = try await get(assets, "/v1/customers/\(candidate.id)/assets", as: CustomerAssets.self)
                if let device = hub.devices.first(where: { !$0.agents.isEmpty }) {
                    customer = candidate.id
                    serial = device.serialNumber
                    agent = device.agents.first?.id
                }
            }
            alert = try await get(alerts, "/v1/alerts", as: AlertPage.self).alerts.first?.id
            if customer == nil || agent == nil || alert == nil { try await Task.sleep(for: .seconds(1)) }
        }
        let credentials = PSASandboxCredentials()
        let created = try await HTTP.send(
            "POST", rules + "/v1/rules",
            [
                "templateId": "datto-fails-2-nights-connectwise", "action": "ticket", "dryRunHours": 0,
                "settings": [
                    "site": psa + "/cw", "companyId": credentials.connectWiseCompany, "publicKey": credentials.connectWisePublicKey,
                    "boardId": 1, "closedStatusId": 20
                ],
                "secrets": ["privateKey": credentials.connectWisePrivateKey, "clientId": credentials.connectWiseClientId]
            ], bearer: token)
        var config = SchemathesisConfig()
        if let customer {
            config.operations += [
                ("/v1/customers/{id}", ["id": customer]), ("/v1/customers/{id}/assets", ["id": customer]),
                ("/v1/customers/{id}/backups", ["id": customer])
            ]
        }
        if let serial { config.operations.append(("/v1/devices/{serial}", ["serial": serial])) }
        if let agent { config.operations.append(("/v1/agents/{id}/runs", ["id": agent])) }
        if let alert { config.operations.append(("/v1/alerts/{id}", ["id": alert])) }
        if let rule = (try? HTTP.decode(RuleView.self, created, "POST /v1/rules"))?.id {
            config.operations += [("/v1/rules/{id}", ["id": rule]), ("/v1/rules/{id}/history", ["id": rule])]
        }
        print("schemathesis identifiers: customer \(customer ?? "-"), agent \(agent ?? "-"), alert \(alert ?? "-"), rule \(created.status)")
        #expect(
            customer != nil && serial != nil && agent != nil && alert != nil, "the synced fleet showed a customer, an agent and an alert")
        #expect(created.status == 201, "\(created.body)")
        return config
    }
}
