import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// A long sync says how far it has come and when it will finish: in the API, on the bus, and in `vectis datto sync --wait`.
@Suite("Sync progress", .serialized)
struct SyncProgressTests {
    /// 500 devices (one agent each) under 50 requests per 2 s: a sync of 505 requests takes about 20 s.
    static let fleet = FleetConfiguration(
        customers: 50, devicesPerCustomer: 10, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
        unassignedDevices: 0)

    @Test(
        "a sync of 500 devices under a lowered budget: progress rises to 100% without going back, and in its second half the estimated finish is within 20% of the sync's length of the real one"
    )
    func progressAndEstimate() async throws {
        try await CollectorHarness.with(
            fleet: Self.fleet,
            configure: { configuration in
                configuration.requestsPerWindow = 50
                configuration.rateWindow = .seconds(2)
            }
        ) { harness in
            let observer = try ReliableNode(
                harness.bus, service: "assets", instance: "progress", subscriptions: [.exact(CollectorSyncProgress.topic)])
            #expect(await observer.waitUntilReady())
            let saved = try await harness.request(
                "PUT", "/v1/integrations/datto",
                ["publicKey": CollectorHarness.key.publicKey, "secretKey": CollectorHarness.key.secretKey, "region": "us"])
            #expect([200, 201].contains(saved.status))
            var samples: [(at: Date, progress: CollectorSyncProgress)] = []
            var finished: DattoIntegrationView?
            let deadline = ContinuousClock.now + .seconds(90)
            while ContinuousClock.now < deadline {
                let current = try await harness.integration()
                if let progress = current?.progress { samples.append((Date(), progress)) }
                if let current, current.lastSyncId != nil, ![.syncing, .neverSynced].contains(current.status) {
                    finished = current
                    break
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            let done = try #require(finished, "the sync finished")
            let last = try #require(done.progress)
            #expect(last.percent == 100 && last.finishedAt != nil && last.devicesRead == 500 && last.devicesTotal == 500, "\(last)")
            #expect(last.requests == done.counts.requests)
            let running = samples.filter { $0.progress.finishedAt == nil }
            #expect(running.count >= 20, "sampled while it ran: \(running.count)")
            let percents = running.map(\.progress.percent)
            #expect(percents == percents.sorted(), "never goes back: \(percents)")
            #expect(percents.allSatisfy { $0 < 100 }, "100% only once finished")
            let actualFinish = try #require(last.finishedAt)
            let length = actualFinish.timeIntervalSince(last.startedAt)
            #expect(length > 10, "the lowered budget makes the sync long enough to measure: \(length) s")
            let secondHalf = running.filter { $0.progress.percent >= 50 }
            #expect(secondHalf.count >= 5)
            let worst = secondHalf.compactMap { $0.progress.estimatedFinishAt.map { abs($0.timeIntervalSince(actualFinish)) } }.max() ?? 0
            print(
                String(
                    format: "sync progress: %d samples, %.1f s sync, worst estimate error in the second half %.1f s (%.0f%%)",
                    running.count, length, worst, worst / length * 100))
            for sample in secondHalf {
                let estimate = try #require(sample.progress.estimatedFinishAt)
                let error = abs(estimate.timeIntervalSince(actualFinish))
                #expect(
                    error <= 0.2 * length,
                    "at \(sample.progress.percent)% the estimate was off by \(String(format: "%.1f", error)) s of a \(String(format: "%.1f", length)) s sync"
                )
            }
            // On the bus too, ending at 100%.
            #expect(try await eventually { try observer.keys(CollectorSyncProgress.topic).contains("\(last.syncId)/100") })
            try await observer.stop()

            // `vectis datto sync --wait`, not on a terminal: a line each tenth, rising, then the outcome.
            let process = try RunningProcess(
                "vectis", ["datto", "sync", "--wait", "--url", harness.collectorURL, "--token", CollectorHarness.token])
            #expect(await process.waitForExit(timeout: .seconds(90)) == 0, "\(process.stderr)")
            let lines = process.stdout.split(separator: "\n").filter { $0.contains("% ") && $0.contains("devices") }
            let shown = lines.compactMap { Int($0.prefix { $0.isNumber }) }
            #expect(shown.count >= 5 && shown == shown.sorted(), "\(process.stdout)")
            #expect(lines.contains { $0.contains("of 500 devices") && $0.contains("left") })
        }
    }
}
