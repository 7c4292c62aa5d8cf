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
            #expect(refused.stderr.contains("refused the admin token"))
        }
    }
}
