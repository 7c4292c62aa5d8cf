import Foundation
import GRDB

/// How one poll divides Datto's request budget (100 a minute per key) between what the key can see: the
/// device list, each device's assets (the backup runs that detect failures), Datto's own device alerts, SaaS
/// Protection and Endpoint Backup.
///
/// The backup runs keep everything but bounded shares, and the slow-changing surfaces are read less often than
/// every poll: alerts at most `DeviceAlertReads.share` (an appliance only when its `alertCount` changed or its list
/// is an hour old), SaaS domains at most `saasShare` (each about once every `saasRereadAfter`, in turn: SaaS
/// Protection backs up a few times a day), the endpoint list at most `endpointShare` (its pages, every poll: its
/// `last10Backups` are the endpoints' runs). A surface the key had none of is looked for again once `lookAgain`
/// has passed, so a subscription added later is found without a request on every poll. Without a budget (the
/// first sync, "Sync now") everything is read.
struct PollSurfaces {
    /// The most of a budgeted poll SaaS domains may use (each costs a request).
    static let saasShare = 0.2
    /// The most of a budgeted poll the Endpoint Backup list may use (a request per 100 endpoints).
    static let endpointShare = 0.1
    /// How often a surface the key had none of is looked for again (Datto time).
    static let lookAgain: TimeInterval = 3_600
    /// How often each SaaS domain is read on scheduled polls.
    static let saasRereadAfter: TimeInterval = 3_600

    /// What the last reads said, per tenant.
    struct Known {
        var saasDomains = 0
        var saasReadAt: Date?
        var endpoints = 0
        var endpointsReadAt: Date?
        var alerts: [String: (count: Int, readAt: Date)] = [:]
        var now = Date()
    }

    var alerts: DeviceAlertReads.Plan
    /// Device asset reads this poll may make (nil: every device).
    var deviceReads: Int?
    /// Requests SaaS Protection may make, its list included (nil: no limit).
    var saasReads: Int?
    /// Pages of the Endpoint Backup list this poll may read (nil: no limit).
    var endpointPages: Int?

    /// `pollInterval`: seconds between scheduled polls (how many polls share an hour's SaaS reads).
    static func plan(listed: [DattoDevice], known: Known, budget: Int?, listCost: Int, pollInterval: TimeInterval = 300) -> PollSurfaces {
        let alerts = DeviceAlertReads.plan(
            alertCounts: Dictionary(listed.map { ($0.serialNumber, $0.alertCount) }, uniquingKeysWith: { first, _ in first }),
            stored: known.alerts, budget: budget, now: known.now)
        guard let budget else { return PollSurfaces(alerts: alerts, deviceReads: nil, saasReads: nil, endpointPages: nil) }
        func due(_ readAt: Date?) -> Bool { readAt.map { known.now.timeIntervalSince($0) >= lookAgain } ?? true }
        func share(_ fraction: Double) -> Int { max(1, Int(Double(budget) * fraction)) }
        let perPoll = Int((Double(known.saasDomains) * max(60, pollInterval) / saasRereadAfter).rounded(.up))
        let saas = known.saasDomains > 0 ? min(1 + min(known.saasDomains, perPoll), share(saasShare)) : due(known.saasReadAt) ? 1 : 0
        let pages = (known.endpoints + 99) / 100
        let endpoints = pages > 0 ? min(pages, share(endpointShare)) : due(known.endpointsReadAt) ? 1 : 0
        let devices = max(0, budget - listCost - alerts.read.count - saas - endpoints)
        // A budget that covers every device leaves the rest to SaaS domains beyond their share.
        let spare = max(0, devices - listed.count)
        return PollSurfaces(alerts: alerts, deviceReads: devices, saasReads: saas + spare, endpointPages: endpoints)
    }
}

extension PollSurfaces.Known {
    init(tenant: String, now: Date, _ db: Database) throws {
        self.now = now
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT domains, read_at FROM saas_state WHERE tenant = ?"), arguments: [tenant])
        {
            saasDomains = max(0, row["domains"] as Int)
            saasReadAt = row["read_at"]
        }
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT endpoints, read_at FROM endpoint_state WHERE tenant = ?"), arguments: [tenant])
        {
            endpoints = max(0, row["endpoints"] as Int)
            endpointsReadAt = row["read_at"]
        }
        alerts = try DeviceAlertReads.stored(tenant: tenant, db)
    }
}
