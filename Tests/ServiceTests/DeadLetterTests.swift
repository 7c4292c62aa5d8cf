import Foundation
import Hummingbird
import ServiceLifecycle
import Testing
import VectisContracts
import VectisRuntime
import VectisTestSupport

/// `vectis dead-letters list|retry` against a service's `/v1/dead-letters` routes.
@Suite("Dead letters: listed and applied again")
struct DeadLetterTests {
    @Test("a message its handler refused is listed with its error, and applied once after the cause is fixed")
    func listAndRetry() async throws {
        try await TestBus.with { testBus in
            let owner = try ReliableNode(testBus, service: "backups", instance: "owner")
            let reader = try ReliableNode(
                busConfiguration: testBus.configuration(as: "alerts"), service: "alerts", instance: "reader",
                subscriptions: [.exact(BackupJobRecorded.topic)],
                refuseJob: 3)
            #expect(await owner.waitUntilReady())
            #expect(await reader.waitUntilReady())
            try await owner.publish(1...5)
            #expect(try await eventually { try reader.applied().count == 4 })

            let router = ServiceApplication.makeRouter()
            DeadLetterController(consumer: reader.bus.consumer, adminToken: "dl-token").addRoutes(to: router)
            let port = try freePort()
            let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            try await withRunning(ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: TestBus.quietLogger)) {
                #expect(await waitUntilListening(port))
                let connection = ["--service", "alerts", "--url", "http://127.0.0.1:\(port)"]
                let refused = try RunningProcess("vectis", ["dead-letters", "list", "--token", "wrong"] + connection)
                #expect(await refused.waitForExit() != 0, "the admin token is required")
                let list = try RunningProcess("vectis", ["dead-letters", "list", "--token", "dl-token"] + connection)
                #expect(await list.waitForExit() == 0)
                #expect(list.stdout.contains("backup.job.recorded") && list.stdout.contains("#3"), "\(list.stdout)")
                #expect(list.stdout.contains("Refused"), "the handler's error is shown")
                // Still refused: it stays, with one more attempt.
                let stillFailing = try RunningProcess("vectis", ["dead-letters", "retry", "--token", "dl-token"] + connection)
                #expect(await stillFailing.waitForExit() == 0)
                #expect(stillFailing.stdout.contains("applied 0, still failing 1"), "\(stillFailing.stdout)")
                // The cause fixed: applied once, and gone from the list.
                reader.refusing.set(false)
                let retried = try RunningProcess("vectis", ["dead-letters", "retry", "--token", "dl-token"] + connection)
                #expect(await retried.waitForExit() == 0)
                #expect(retried.stdout.contains("applied 1, still failing 0"), "\(retried.stdout)")
                #expect(try reader.applied().compactMap(\.job).sorted() == [1, 2, 3, 4, 5])
                let empty = try RunningProcess("vectis", ["dead-letters", "list", "--token", "dl-token"] + connection)
                #expect(await empty.waitForExit() == 0)
                #expect(empty.stdout.contains("No dead letters"))
            }
            try await reader.stop()
            try await owner.stop()
        }
    }
}
