import Foundation
import GRDB
import VectisContracts

/// What Datto says about a backup's bootability (screenshot verification) and an appliance's local storage, kept
/// for the silence check: the latest verification per agent, and storage samples with a days-to-full projection.
enum ApplianceHealth {
    /// Keeps the latest screenshot verification: its time and result, the latest success, and since when it fails.
    /// An older attempt than the one stored (a replay) changes nothing.
    static func noteScreenshot(agentId: String, at attempt: Date, succeeded: Bool, _ db: Database) throws {
        let at = attempt.timeIntervalSince1970
        try db.cachedStatement(
            sql: """
                UPDATE agent SET
                    screenshot_success_at = CASE WHEN ? THEN max(coalesce(screenshot_success_at, 0), ?) ELSE screenshot_success_at END,
                    screenshot_failing_since = CASE WHEN ? THEN NULL ELSE coalesce(screenshot_failing_since, ?) END,
                    screenshot_ok = ?, screenshot_at = ?
                WHERE id = ? AND coalesce(screenshot_at, 0) <= ?
                """
        ).execute(arguments: [succeeded, at, succeeded, at, succeeded, at, agentId, at])
    }

    /// A sample at most every six hours (30 days of them is 120 per appliance), older than 35 days dropped; the
    /// appliance's storage as last read, and its projected full date.
    static let sampleEvery: TimeInterval = 6 * 3_600
    static let keepSamples: TimeInterval = 35 * 86_400
    static let projectionWindow: TimeInterval = 30 * 86_400

    static func noteStorage(tenant: String, serial: String, used: Int64, available: Int64, at now: Date, _ db: Database) throws {
        // Datto's numbers are not trusted to be sane: negative or absurd sizes are not storage.
        guard used >= 0, available >= 0, used <= Int64.max / 4, available <= Int64.max / 4 else { return }
        let at = now.timeIntervalSince1970
        let latest = try Double.fetchOne(
            db.cachedStatement(sql: "SELECT max(at) FROM device_storage_sample WHERE tenant = ? AND serial = ?"),
            arguments: [tenant, serial])
        if latest.map({ at - $0 >= sampleEvery || at < $0 }) ?? true {
            try db.cachedStatement(
                sql: "INSERT OR REPLACE INTO device_storage_sample (tenant, serial, at, used_bytes, available_bytes) VALUES (?, ?, ?, ?, ?)"
            ).execute(arguments: [tenant, serial, at, used, available])
            try db.cachedStatement(sql: "DELETE FROM device_storage_sample WHERE tenant = ? AND serial = ? AND at < ?")
                .execute(arguments: [tenant, serial, at - keepSamples])
        }
        let samples = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT at, used_bytes FROM device_storage_sample WHERE tenant = ? AND serial = ? AND at >= ? ORDER BY at"),
            arguments: [tenant, serial, at - projectionWindow]
        ).map { (at: $0["at"] as Double, used: Double($0["used_bytes"] as Int64)) }
        let capacity = Double(used) + Double(available)
        let full = projectedFull(samples: sinceLastCleanup(samples + [(at, Double(used))], capacity: capacity), capacity: capacity, now: at)
        try db.cachedStatement(
            sql:
                "UPDATE device SET storage_used_bytes = ?, storage_available_bytes = ?, storage_full_at = ? WHERE tenant = ? AND serial = ?"
        ).execute(arguments: [used, available, full, tenant, serial])
    }

    /// The samples since space was last freed (a drop of more than 1% of the capacity): the trend before a cleanup
    /// says nothing about the one after it.
    static func sinceLastCleanup(_ samples: [(at: Double, used: Double)], capacity: Double) -> [(at: Double, used: Double)] {
        guard let drop = samples.indices.dropFirst().last(where: { samples[$0].used < samples[$0 - 1].used - capacity * 0.01 }) else {
            return samples
        }
        return Array(samples[drop...])
    }

    /// When the used bytes reach `capacity`, by least squares over the samples: nil when they do not grow, or
    /// there is less than a day of them, or the answer is beyond ten years.
    static func projectedFull(samples: [(at: Double, used: Double)], capacity: Double, now: Double) -> Double? {
        guard samples.count >= 3, let first = samples.first?.at, let last = samples.last?.at, last - first >= 86_400 else { return nil }
        let count = Double(samples.count)
        // Centred on the first sample: seconds since then stay small enough for exact-ish sums.
        let xs = samples.map { $0.at - first }
        let meanX = xs.reduce(0, +) / count
        let meanY = samples.map(\.used).reduce(0, +) / count
        var sxy = 0.0
        var sxx = 0.0
        for (x, sample) in zip(xs, samples) {
            sxy += (x - meanX) * (sample.used - meanY)
            sxx += (x - meanX) * (x - meanX)
        }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        guard slope.isFinite, slope > 0 else { return nil }
        let intercept = meanY - slope * meanX
        let full = first + (capacity - intercept) / slope
        guard full.isFinite, full < now + 10 * 365 * 86_400 else { return nil }
        return max(full, now)
    }

    /// "full in about 9 days", "full within a day", "not growing".
    static func projectionText(fullAt: Date?, now: Date) -> String {
        guard let fullAt else { return "not filling up" }
        let days = fullAt.timeIntervalSince(now) / 86_400
        if days < 1 { return "full within a day" }
        return "full in about \(Int(days.rounded())) day\(Int(days.rounded()) == 1 ? "" : "s")"
    }
}
