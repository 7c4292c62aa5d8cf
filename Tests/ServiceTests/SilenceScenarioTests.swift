import CollectorService
import DattoSandbox
import Foundation
import Logging
import Testing
import VectisRuntime
import VectisTestSupport

/// The Datto sandbox can make an agent go silent, an appliance stop checking in, and offsite replication stall
/// — failures that produce no failed run — and undo each; read back through the production Datto client.
@Suite("Datto sandbox: silence, offline appliances, stalled offsite copies")
struct SilenceScenarioTests {
    @Test("silence, offline and offsite stall show in the API exactly as Datto would show them, and clear")
    func silentFailures() async throws {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 2, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        try await CollectorHarness.with(fleet: fleet) { harness in
            let sandbox = harness.sandbox
            let client = DattoClient(
                baseURL: URL(string: harness.sandboxURL + "/v1")!,
                credentials: DattoCredentials(
                    publicKey: CollectorHarness.key.publicKey, secretKey: CollectorHarness.key.secretKey, region: "us"),
                limiter: RequestRateLimiter(limit: 1_000), logger: TestBus.quietLogger)
            let devices = try await client.devices().sorted { $0.serialNumber < $1.serialNumber }
            let (quiet, offline) = (devices[0], devices[1])
            let quietAssets = try await client.assets(serialNumber: quiet.serialNumber)
            let (silent, stalled) = (quietAssets[0], quietAssets[1])
            func post(_ path: String) async throws {
                #expect(try await HTTP.send("POST", harness.sandboxURL + "/_sandbox/" + path).status == 200, "\(path)")
            }
            let before = sandbox.now
            try await post("agents/\(silent.volume)/silence")
            try await post("agents/\(stalled.volume)/offsite-stall")
            try await post("devices/\(offline.serialNumber)/offline")
            #expect(try await HTTP.send("POST", harness.sandboxURL + "/_sandbox/agents/no-such-volume/silence").status == 404)
            sandbox.advanceClock(by: 2 * 86_400)

            func newest(_ asset: DattoAsset) -> Date { asset.backups.map(\.timestamp).max() ?? .distantPast }
            let listed = try await client.devices()
            let offlineNow = try #require(listed.first { $0.serialNumber == offline.serialNumber })
            let onlineNow = try #require(listed.first { $0.serialNumber == quiet.serialNumber })
            #expect(
                abs((offlineNow.lastSeenDate ?? .distantPast).timeIntervalSince(before)) < 1, "an offline appliance's lastSeenDate stays")
            #expect((onlineNow.lastSeenDate ?? .distantPast) > before.addingTimeInterval(86_400), "a healthy one keeps checking in")
            let quietNow = try await client.assets(serialNumber: quiet.serialNumber)
            let silentNow = try #require(quietNow.first { $0.volume == silent.volume })
            let stalledNow = try #require(quietNow.first { $0.volume == stalled.volume })
            #expect(newest(silentNow) < before, "a silent agent has no new run, failed or not")
            #expect(silentNow.backups.allSatisfy { $0.status == "success" })
            #expect(newest(stalledNow) > before.addingTimeInterval(86_400), "the stalled agent still backs up locally")
            #expect((stalledNow.latestOffsite ?? .distantFuture) <= before, "but its latest offsite copy stays behind")
            #expect((silentNow.latestOffsite ?? .distantPast) > newest(silentNow), "healthy replication follows the last backup")
            for asset in try await client.assets(serialNumber: offline.serialNumber) {
                #expect(newest(asset) < before, "no run of an offline appliance reaches Datto")
            }

            // Undone: the agent backs up again, replication catches up, the appliance checks in with what it took.
            try await post("agents/\(silent.volume)/resume")
            try await post("agents/\(stalled.volume)/offsite-resume")
            try await post("devices/\(offline.serialNumber)/online")
            let resumed = sandbox.now
            sandbox.advanceClock(by: 86_400)
            let after = try await client.assets(serialNumber: quiet.serialNumber)
            #expect(newest(try #require(after.first { $0.volume == silent.volume })) > resumed)
            #expect((try #require(after.first { $0.volume == stalled.volume }).latestOffsite ?? .distantPast) > resumed)
            for asset in try await client.assets(serialNumber: offline.serialNumber) {
                let meanwhile = asset.backups.filter { $0.timestamp > before && $0.timestamp < resumed }
                #expect(meanwhile.count >= 1, "the runs taken while offline appear once it is back")
            }
            let back = try #require(try await client.devices().first { $0.serialNumber == offline.serialNumber })
            #expect((back.lastSeenDate ?? .distantPast) > resumed)
        }
    }
}
