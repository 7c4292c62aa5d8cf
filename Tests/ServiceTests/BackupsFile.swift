import Foundation
import GRDB

@testable import BackupsService

/// The backups service's database file, read through that service's own record type: for process tests, where the
/// service runs in another process and its table is the truth checked (every run recorded exactly once).
struct BackupsFile {
    /// One recorded run, as the tests compare it.
    struct Run {
        var tenant: String
        var customerId: String
        var agentId: String
        var agentName: String
        var agentVolume: String
        var deviceSerial: String
        var runAt: Date
        var succeeded: Bool
    }

    let path: String

    init(_ path: String) { self.path = path }

    /// Every recorded run; none while the service has not created its file yet.
    func runs() async throws -> [Run] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        var configuration = Configuration()
        configuration.readonly = true
        let records = try await DatabaseQueue(path: path, configuration: configuration).read { db in try BackupJobRecord.fetchAll(db) }
        return records.map {
            Run(
                tenant: $0.tenant, customerId: $0.customerId, agentId: $0.agentId, agentName: $0.agentName, agentVolume: $0.agentVolume,
                deviceSerial: $0.deviceSerial, runAt: $0.runAt, succeeded: $0.status == .success)
        }
    }

    /// The customers with at least one recorded run, in id order.
    func customerIds() async throws -> [String] { Set(try await runs().map(\.customerId)).sorted() }

    /// `serial/volume/epoch seconds` of every recorded run.
    func runKeys() async throws -> Set<String> {
        Set(try await runs().map { "\($0.deviceSerial)/\($0.agentVolume)/\(Int($0.runAt.timeIntervalSince1970))" })
    }
}
