import Foundation
import GRDB
import Testing
import VectisBus
import VectisContracts
import VectisDelivery
import VectisStorage
import VectisTestSupport

@testable import VectisRuntime

@Suite("A service's handlers are its subscriptions")
struct BusHandlersTests {
    @Test(
        "subscriptions follow the handlers; a message with no handler, or of another type, fails its apply (dead letter) instead of passing in silence"
    )
    func unhandledIsNotSilent() throws {
        var handlers = BusHandlers()
        let applied = Flag(false)
        handlers.on(BackupJobRecorded.self) { job, header, _, _ in
            #expect(job.jobId == 7 && header.tenant == "msp-b")
            applied.set(true)
        }
        handlers.on(BackupConditionChanged.self) { _, _, _, _ in }
        #expect(handlers.topics == [BackupConditionChanged.topic, BackupJobRecorded.topic])
        #expect(handlers.subscriptions.count == 2)

        var migrator = DatabaseMigrator()
        DeliveryTables.register(in: &migrator)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-handlers-\(UUID().uuidString)/h.sqlite").path
        let database = try ServiceDatabase.open(at: path, migrator: migrator)
        let outbox = try Outbox(stream: "alerts/test", database: database)
        func received(_ event: any BusEvent, topic: String) -> ReceivedEvent {
            let header = MessageHeader(schemaVersion: 1, stream: "backups/1", seq: 1, tenant: "msp-b")
            return ReceivedEvent(message: BusMessage(topic: topic, header: header, body: []), event: event)
        }
        try database.write { db in
            // The shard suffix on the wire topic is not part of the handler's key.
            try handlers.apply(
                received(BackupJobRecorded.sample(7), topic: Shard.wireTopic(BackupJobRecorded.topic, tenant: "msp-b")), db, outbox)
            let run = BackupRunObserved(
                deviceSerial: "S", agentVolume: "v", agentName: "a", customer: CustomerRef(key: "k", name: "n"), runAt: Date(),
                rawStatus: "success")
            #expect(throws: BusHandlers.NotHandled.self) { try handlers.apply(received(run, topic: BackupRunObserved.topic), db, outbox) }
            // A body that decoded as something else under a handled topic is refused too.
            #expect(throws: BusHandlers.NotHandled.self) { try handlers.apply(received(run, topic: BackupJobRecorded.topic), db, outbox) }
        }
        #expect(applied.value)
    }
}
