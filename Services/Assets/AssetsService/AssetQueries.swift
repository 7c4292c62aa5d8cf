import Foundation
import GRDB
import VectisAPI

/// Read side of the assets tables.
struct AssetQueries: Sendable {
    let database: DatabasePool

    func customers(tenant: String?) async throws -> [CustomerView] {
        try await database.read { db in
            let summaries =
                try tenant.map {
                    try CustomerSummary.fetchAll(db, sql: CustomerSummary.sql + " WHERE c.tenant = ? ORDER BY c.name", arguments: [$0])
                } ?? CustomerSummary.fetchAll(db, sql: CustomerSummary.sql + " ORDER BY c.tenant, c.name")
            return summaries.map(\.view)
        }
    }

    func customer(id: String) async throws -> CustomerView? {
        try await database.read { db in try Self.customer(id: id, db) }
    }

    static func customer(id: String, _ db: Database) throws -> CustomerView? {
        try CustomerSummary.fetchOne(db, sql: CustomerSummary.sql + " WHERE c.id = ?", arguments: [id])?.view
    }

    func assets(customerId: String) async throws -> CustomerAssets? {
        try await database.read { db in
            guard let customer = try Self.customer(id: customerId, db) else { return nil }
            let devices = try DeviceRecord.fetchAll(
                db, sql: "SELECT * FROM device WHERE customer_id = ? ORDER BY name, serial_number", arguments: [customerId])
            return CustomerAssets(customer: customer, devices: try devices.map { try Self.device($0, db) })
        }
    }

    func device(serialNumber: String, tenant: String?) async throws -> [DeviceView] {
        try await database.read { db in
            let devices =
                try tenant.map {
                    try DeviceRecord.fetchAll(
                        db, sql: "SELECT * FROM device WHERE serial_number = ? AND tenant = ?", arguments: [serialNumber, $0])
                } ?? DeviceRecord.fetchAll(db, sql: "SELECT * FROM device WHERE serial_number = ?", arguments: [serialNumber])
            return try devices.map { try Self.device($0, db) }
        }
    }

    static func device(_ device: DeviceRecord, _ db: Database) throws -> DeviceView {
        device.view(agents: try AgentRecord.onDevice(tenant: device.tenant, serial: device.serialNumber, db))
    }
}
