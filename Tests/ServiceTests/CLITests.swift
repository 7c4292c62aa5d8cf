import CollectorService
import DattoSandbox
import Foundation
import Testing
import VectisTestSupport

@Suite("vectis datto commands", .serialized)
struct DattoCLITests {
    @Test("configure (secret from stdin), test, sync --wait and status work against a running collector")
    func commands() async throws {
        try await CollectorHarness.with { harness in
            let connection = ["--url", harness.collectorURL, "--token", CollectorHarness.token]
            func vectis(_ arguments: [String], input: String? = nil) async throws -> (Int32?, String) {
                let process = try RunningProcess("vectis", ["datto"] + arguments + connection)
                if let input { process.send(input) }
                let status = await process.waitForExit(timeout: .seconds(60))
                return (status, process.stdout + process.stderr)
            }
            let configured = try await vectis(
                ["configure", "--public-key", CollectorHarness.key.publicKey, "--region", "us", "--secret-key-stdin"],
                input: CollectorHarness.key.secretKey)
            #expect(configured.0 == 0, "\(configured.1)")
            let tested = try await vectis(["test"])
            #expect(tested.0 == 0)
            #expect(tested.1 == "Connected to Datto (us) — \(harness.sandbox.deviceCount) BCDR devices visible\n")
            let wrong = try await vectis(["test", "--region", "eu"])
            #expect(wrong.0 == 1)
            #expect(wrong.1.contains("Region is wrong for this partner account. Try the other region."))
            let synced = try await vectis(["sync", "--wait"])
            #expect(synced.0 == 0, "\(synced.1)")
            #expect(synced.1.contains("status ok"))
            let status = try await vectis(["status"])
            #expect(status.1.contains("default (default): region us, public key sandbox-public-key, secret key set"))
            #expect(status.1.contains("\(harness.sandbox.deviceCount) devices"))
            #expect(!status.1.contains(CollectorHarness.key.secretKey))
            let refused = try RunningProcess("vectis", ["datto", "status", "--url", harness.collectorURL, "--token", "nope"])
            #expect(await refused.waitForExit() != 0)
            #expect(refused.stderr.contains("refused the token: pass --token"))
        }
    }
}

@Suite("vectis rules commands", .serialized)
struct RulesCLITests {
    /// True when a line of a `vectis` table reads `id  name`.
    func hasRow(_ output: String, _ id: String, _ name: String) -> Bool {
        output.split(separator: "\n").contains { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            return words.first.map(String.init) == id && words.dropFirst().joined(separator: " ") == name
        }
    }

    @Test(
        "picklists before and after enabling, enable with secrets on stdin, map, live, list, history and tickets work against a running rules service; no secret is printed"
    )
    func commands() async throws {
        try await SystemHarness.with(fleet: RulesTests.fleet) { harness in
            let connection = ["--url", harness.rulesURL, "--token", CollectorHarness.token]
            func vectis(_ arguments: [String], input: String? = nil) async throws -> (status: Int32?, output: String) {
                let process = try RunningProcess("vectis", arguments + connection)
                if let input { process.send(input) }
                let status = await process.waitForExit(timeout: .seconds(60))
                return (status, process.stdout + process.stderr)
            }
            let (settings, secrets) = harness.psaConnection("connectwise")
            let settingsJSON = String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
            let secretsJSON = String(decoding: try JSONSerialization.data(withJSONObject: secrets), as: UTF8.self)
            let privateKey = try #require(secrets["privateKey"] as? String)

            let templates = try await vectis(["rules", "templates"])
            #expect(templates.status == 0 && templates.output.contains("datto-fails-2-nights-connectwise"), "\(templates.output)")
            #expect(templates.output.contains("privateKey (secret)"))

            // Before enabling: the ids to put in --settings, by name (board 1's statuses, since the settings name it).
            let before = try await vectis(
                ["rules", "picklists", "--psa", "connectwise", "--settings", settingsJSON, "--secrets-stdin"],
                input: secretsJSON)
            #expect(before.status == 0, "\(before.output)")
            #expect(hasRow(before.output, "1", "Professional Services") && !before.output.contains("Old Projects"), "\(before.output)")
            #expect(hasRow(before.output, "20", "Closed"))
            #expect(hasRow(before.output, "250", "Acme Corp") && before.output.contains("companies (4)"))
            #expect(!before.output.contains(privateKey))

            let enabled = try await vectis(
                [
                    "rules", "enable", "datto-fails-2-nights-connectwise", "--settings", settingsJSON, "--secrets-stdin", "--dry-run-hours",
                    "24",
                    "--close-on-recovery"
                ], input: secretsJSON)
            #expect(enabled.status == 0, "\(enabled.output)")
            let rule = try #require(enabled.output.firstMatch(of: /as (ru_\d+) \(dry run until/)?.1).description
            #expect(try await vectis(["rules", "picklists", rule]).output.contains("companies (4)"), "a saved rule's connection is used")

            #expect(
                try await vectis(["rules", "map", "connectwise", "c_test", "250"]).output == "Mapped c_test to connectwise company 250.\n")
            #expect(
                try await vectis(["rules", "list"]).output.contains(
                    "\(rule)  Datto backup fails 2+ nights in a row (ConnectWise)  threshold 2 nights, ticket, dry run"))
            #expect(try await vectis(["rules", "live", rule]).output == "\(rule) is live.\n")
            #expect(try await !vectis(["rules", "list"]).output.contains("dry run"))
            let history = try await vectis(["rules", "history", rule]).output
            #expect(history.contains("rule-created") && history.contains("dry run ended: live"), "\(history)")

            // Rotate the private key in place (from stdin) and raise the threshold.
            let updated = try await vectis(
                ["rules", "update", rule, "--secrets-stdin", "--threshold-nights", "3"],
                input: #"{"privateKey": "rotated-in-the-cli"}"#)
            #expect(updated.output == "Updated \(rule) (Datto backup fails 2+ nights in a row (ConnectWise)).\n", "\(updated.output)")
            let rotated = try await vectis(["rules", "history", rule]).output
            #expect(
                rotated.contains("secrets replaced: privateKey; threshold 2 → 3") && !rotated.contains("rotated-in-the-cli"), "\(rotated)")
            #expect(try await vectis(["rules", "update", rule]).status != 0, "nothing to change is refused")
            #expect(try await vectis(["tickets"]).output == "No tickets.\n")

            // Refusals say why and exit non-zero.
            let neither = try await vectis(["rules", "picklists"])
            #expect(neither.status != 0 && neither.output.contains("Give a rule id, or --psa with --settings."))
            let wrong = try await vectis(
                ["rules", "picklists", "--psa", "connectwise", "--settings", settingsJSON, "--secrets-stdin"],
                input: #"{"privateKey": "not-the-key", "clientId": "x"}"#)
            #expect(wrong.status != 0 && wrong.output.contains("The PSA answered: HTTP 401"), "\(wrong.output)")
        }
    }
}
