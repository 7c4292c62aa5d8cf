import Foundation
import GRDB
import Testing
import VectisAPI
import VectisContracts
import VectisDelivery

@testable import AssetsService

/// What the collector announces, applied to a real (temporary) assets database: appliances and agents listed before
/// their first backup, agents that disappear kept as removed, and each change published once.
@Suite("Asset store")
struct AssetStoreTests {
    static let acme = CustomerRef(key: "org:1", name: "Acme")
    static let start = Date(timeIntervalSince1970: 1_790_000_000)

    /// A fresh assets database and its outbox; `body` gets a write transaction. Returns the topics published.
    static func withStore(_ body: (Database, Outbox) throws -> Void) throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("assets-unit-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try DatabasePool(path: path)
        try AssetsTables.migrator.migrate(database)
        let outbox = try Outbox(stream: "assets/unit", database: database)
        try database.write { db in try body(db, outbox) }
        return try database.read { db in try String.fetchAll(db, sql: "SELECT topic FROM bus_outbox ORDER BY id") }
            .map { String($0.prefix { $0 != "@" }) }
    }

    static func device(_ volumes: [String]?, name: String = "SIRIS-1") -> DattoDeviceSeen {
        DattoDeviceSeen(serialNumber: "S1", name: name, model: "S5", customer: acme, lastSeenAt: start, assetVolumes: volumes)
    }

    static func agent(_ volume: String, paused: Bool = false) -> DattoAgentSeen {
        DattoAgentSeen(
            deviceSerial: "S1", customer: acme, volume: volume, name: "FS-\(volume)", os: "Windows Server 2022", isPaused: paused)
    }

    @Test("an appliance and its agents are listed under their customer before any backup; seen again unchanged, nothing is published")
    func listedBeforeTheFirstBackup() throws {
        let topics = try Self.withStore { db, outbox in
            for _ in 0..<2 {
                try AssetStore.apply(Self.device(["v1", "v2"]), tenant: "default", at: Self.start, db: db, outbox: outbox)
                for volume in ["v1", "v2"] {
                    try AssetStore.apply(Self.agent(volume), tenant: "default", at: Self.start, db: db, outbox: outbox)
                }
            }
            let customerId = StableID.customer(tenant: "default", key: "org:1")
            let customer = try #require(try AssetQueries.customer(id: customerId, db))
            #expect(customer.name == "Acme" && customer.devices == 1 && customer.agents == 2 && customer.failingAgents == 0)
            let device = try #require(try DeviceRecord.find(tenant: "default", serial: "S1", db))
            let agents = try AssetQueries.device(device, db).agents
            #expect(agents.map(\.volume).sorted() == ["v1", "v2"])
        }
        #expect(topics == [AssetDeviceChanged.topic, AssetAgentChanged.topic, AssetAgentChanged.topic])
    }

    @Test("an agent the appliance stops listing is kept as removed and said once; listed again, it is back")
    func removedAndBack() throws {
        let topics = try Self.withStore { db, outbox in
            try AssetStore.apply(Self.device(["v1", "v2"]), tenant: "default", at: Self.start, db: db, outbox: outbox)
            for volume in ["v1", "v2"] {
                try AssetStore.apply(Self.agent(volume), tenant: "default", at: Self.start, db: db, outbox: outbox)
            }
            let later = Self.start + 3_600
            try AssetStore.apply(Self.device(["v1"]), tenant: "default", at: later, db: db, outbox: outbox)
            try AssetStore.apply(Self.device(["v1"]), tenant: "default", at: later, db: db, outbox: outbox)
            let gone = try #require(try AgentRecord.find(id: StableID.agent(tenant: "default", deviceSerial: "S1", volume: "v2"), db))
            #expect(gone.removedAt == later, "kept, marked removed")
            #expect(try AssetQueries.customer(id: StableID.customer(tenant: "default", key: "org:1"), db)?.agents == 1)
            try AssetStore.apply(Self.device(["v1", "v2"]), tenant: "default", at: later + 60, db: db, outbox: outbox)
            try AssetStore.apply(Self.agent("v2"), tenant: "default", at: later + 60, db: db, outbox: outbox)
            let back = try #require(try AgentRecord.find(id: StableID.agent(tenant: "default", deviceSerial: "S1", volume: "v2"), db))
            #expect(back.removedAt == nil)
        }
        // Added ×3, removed once (not again on the repeat), and updated when it came back.
        #expect(
            topics == [
                AssetDeviceChanged.topic, AssetAgentChanged.topic, AssetAgentChanged.topic, AssetAgentChanged.topic, AssetAgentChanged.topic
            ])
    }

    @Test("an appliance whose assets could not be read this time leaves its agents as they were; a rename or a pause is published")
    func unreadAssetsAndChanges() throws {
        let topics = try Self.withStore { db, outbox in
            try AssetStore.apply(Self.device(["v1"]), tenant: "default", at: Self.start, db: db, outbox: outbox)
            try AssetStore.apply(Self.agent("v1"), tenant: "default", at: Self.start, db: db, outbox: outbox)
            try AssetStore.apply(Self.device(nil), tenant: "default", at: Self.start + 60, db: db, outbox: outbox)
            let agent = try #require(try AgentRecord.find(id: StableID.agent(tenant: "default", deviceSerial: "S1", volume: "v1"), db))
            #expect(agent.removedAt == nil, "an unread asset list removes nothing")
            try AssetStore.apply(Self.device(nil, name: "SIRIS-renamed"), tenant: "default", at: Self.start + 120, db: db, outbox: outbox)
            try AssetStore.apply(Self.agent("v1", paused: true), tenant: "default", at: Self.start + 120, db: db, outbox: outbox)
        }
        #expect(topics == [AssetDeviceChanged.topic, AssetAgentChanged.topic, AssetDeviceChanged.topic, AssetAgentChanged.topic])
    }
}
