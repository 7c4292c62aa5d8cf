import Foundation
import GRDB
import VectisAPI
import VectisContracts

/// Read side of the per-night roll-up: the status grid, success rates and the fleet dashboard.
struct GridQueries: Sendable {
    let database: DatabasePool
    let nights: NightSettings
    let clock: @Sendable () -> Date

    /// The rate windows every grid shows.
    static let rateWindows = [7, 30, 90]

    /// The night under way for the tenant, and the `count` completed nights before it.
    func window(tenant: String, completed count: Int) -> (tonight: String, first: String, last: String) {
        let tonight = nights.calendar(for: tenant).night(of: clock())
        return (tonight, NightCalendar.night(tonight, adding: -count) ?? tonight, NightCalendar.night(tonight, adding: -1) ?? tonight)
    }

    /// Which nights a grid shows.
    enum Span: Sendable {
        /// The last `days` nights, tonight included.
        case days(Int)
        /// The nights of a month (`YYYY-MM`), up to tonight.
        case month(String)
    }

    func customerGrid(id: String, span: Span, rollUp requested: RollUp?) async throws -> CustomerGrid? {
        try await database.read { db in
            guard
                let customer = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT tenant, customer_key, customer_name FROM (
                                SELECT tenant, customer_key, customer_name, updated_at AS at FROM agent WHERE customer_id = ?
                                UNION ALL SELECT tenant, customer_key, customer_name, observed_at AS at FROM device WHERE customer_id = ?)
                            ORDER BY at DESC LIMIT 1
                            """), arguments: [id, id])
            else { return nil }
            let tenant: String = customer["tenant"]
            let calendar = nights.calendar(for: tenant)
            let (tonight, _, _) = window(tenant: tenant, completed: 0)
            let shown: [String]
            switch span {
            case .days(let days): shown = NightCalendar.nights(endingWith: tonight, count: days)
            case .month(let month):
                let last =
                    NightCalendar.night(month + "-01", adding: 40).map { String($0.prefix(7)) + "-01" }
                    .flatMap { NightCalendar.night($0, adding: -1) } ?? tonight
                shown = NightCalendar.nights(endingWith: min(last, tonight), count: 31).filter { $0.hasPrefix(month + "-") }
            }
            let oldest = min(shown.first ?? tonight, NightCalendar.night(tonight, adding: -(Self.rateWindows.max() ?? 90)) ?? tonight)
            let (rollUp, source) = try Self.rollUp(customerId: id, tenant: tenant, requested: requested, nights: nights, db)
            let agents = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT id, name, kind, device_serial, is_paused, is_archived FROM agent
                        WHERE customer_id = ? AND is_removed = 0 ORDER BY device_serial, kind, name
                        """), arguments: [id]
            ).map { agent in
                let rows = try AgentNight.fetchAll(
                    db.cachedStatement(sql: "SELECT \(AgentNight.columns) FROM agent_night WHERE agent_id = ? AND night >= ?"),
                    arguments: [agent["id"] as String, oldest])
                let byNight = Dictionary(rows.map { ($0.night, $0) }, uniquingKeysWith: { first, _ in first })
                return CustomerGrid.Agent(
                    agentId: agent["id"], name: agent["name"],
                    kind: DattoAgentSeen.Kind(rawValue: agent["kind"]) ?? .agent, deviceSerial: agent["device_serial"],
                    isPaused: agent["is_paused"], isArchived: agent["is_archived"],
                    cells: shown.map { night in byNight[night]?.cell(rollUp) ?? NightCell(night: night, status: .none) },
                    rates: Self.rateWindows.map { count in
                        let first = NightCalendar.night(tonight, adding: -count) ?? tonight
                        let counted = rows.filter { $0.night >= first && $0.night < tonight }
                        return SuccessRate(
                            nights: count, expected: counted.filter(\.expected).count, succeeded: counted.filter(\.succeeded).count)
                    })
            }
            let rates = try Self.rateWindows.map { count in
                let (_, first, last) = window(tenant: tenant, completed: count)
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT coalesce(SUM(expected), 0) AS expected, coalesce(SUM(succeeded), 0) AS succeeded FROM customer_night
                            WHERE customer_id = ? AND night BETWEEN ? AND ?
                            """), arguments: [id, first, last])
                return SuccessRate(nights: count, expected: row?["expected"] ?? 0, succeeded: row?["succeeded"] ?? 0)
            }
            let completed = agents.flatMap { agent in agent.cells.filter { $0.night < tonight } }
            let expectedCells = completed.filter { [.success, .partial, .failure, .missed, .offline].contains($0.status) }
            let shownRate = SuccessRate(
                nights: shown.filter { $0 < tonight }.count, expected: expectedCells.count,
                succeeded: completed.filter { $0.successes > 0 }.count)
            return CustomerGrid(
                customer: .init(id: id, tenant: tenant, key: customer["customer_key"], name: customer["customer_name"]),
                rollUp: rollUp, rollUpSource: source, nights: shown, timeZone: calendar.timeZone.identifier,
                boundaryHour: calendar.boundaryHour, rates: rates, shownRate: shownRate, agents: agents)
        }
    }

    /// The mode asked for, else the customer's, else the tenant's, else the standard one.
    static func rollUp(
        customerId: String, tenant: String, requested: RollUp?, nights: NightSettings, _ db: Database
    ) throws -> (RollUp, CustomerGrid.RollUpSource) {
        if let requested { return (requested, .request) }
        if let stored = try String.fetchOne(
            db.cachedStatement(sql: "SELECT roll_up FROM customer_setting WHERE customer_id = ?"), arguments: [customerId]),
            let mode = RollUp(rawValue: stored)
        {
            return (mode, .customer)
        }
        if let mode = nights.tenantRollUps[tenant] { return (mode, .tenant) }
        return (nights.rollUp, .standard)
    }

    func gridSettings(customerId: String) async throws -> GridSettings {
        try await database.read { db in
            GridSettings(
                rollUp: try String.fetchOne(
                    db.cachedStatement(sql: "SELECT roll_up FROM customer_setting WHERE customer_id = ?"), arguments: [customerId]
                ).flatMap(RollUp.init(rawValue:)))
        }
    }

    /// Saves the customer's roll-up mode (nil: back to the tenant's); false when no such customer is known.
    func saveGridSettings(customerId: String, _ settings: GridSettings) async throws -> Bool {
        try await database.write { db in
            let known =
                try Bool.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM agent WHERE customer_id = ?) OR EXISTS (SELECT 1 FROM device WHERE customer_id = ?)
                            """), arguments: [customerId, customerId]) ?? false
            guard known else { return false }
            if let mode = settings.rollUp {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO customer_setting (customer_id, roll_up) VALUES (?, ?)
                        ON CONFLICT (customer_id) DO UPDATE SET roll_up = excluded.roll_up
                        """
                ).execute(arguments: [customerId, mode.rawValue])
            } else {
                try db.cachedStatement(sql: "DELETE FROM customer_setting WHERE customer_id = ?").execute(arguments: [customerId])
            }
            return true
        }
    }

    /// Every customer's, tenant's and the fleet's rate over the `count` completed nights; customers worst first.
    func successRates(nights count: Int) async throws -> SuccessRates {
        try await database.read { db in try rates(count: count, db) }
    }

    private func rates(count: Int, _ db: Database) throws -> SuccessRates {
        // Names as most recently reported, for every customer known by an agent or an appliance.
        var customers: [String: (tenant: String, name: String, at: Double)] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT customer_id, tenant, customer_name, MAX(updated_at) AS at FROM agent GROUP BY customer_id
                    UNION ALL SELECT customer_id, tenant, customer_name, MAX(observed_at) AS at FROM device GROUP BY customer_id
                    """))
        {
            let at: Double = row["at"] ?? 0
            if at >= customers[row["customer_id"]]?.at ?? -.infinity {
                customers[row["customer_id"]] = (row["tenant"], row["customer_name"], at)
            }
        }
        var totals: [String: (expected: Int, succeeded: Int)] = [:]
        for tenant in Set(customers.values.map(\.tenant)) {
            let (_, first, last) = window(tenant: tenant, completed: count)
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT customer_id, SUM(expected) AS expected, SUM(succeeded) AS succeeded FROM customer_night
                        WHERE night BETWEEN ? AND ? AND tenant = ? GROUP BY customer_id
                        """), arguments: [first, last, tenant])
            {
                totals[row["customer_id"]] = (row["expected"] ?? 0, row["succeeded"] ?? 0)
            }
        }
        let rates = customers.map { id, customer in
            CustomerRate(
                customerId: id, tenant: customer.tenant, name: customer.name,
                rate: SuccessRate(nights: count, expected: totals[id]?.expected ?? 0, succeeded: totals[id]?.succeeded ?? 0))
        }
        .sorted { ($0.rate.rate ?? 2, $0.name, $0.customerId) < ($1.rate.rate ?? 2, $1.name, $1.customerId) }
        let tenants = Dictionary(grouping: rates, by: \.tenant).map { tenant, rates in
            TenantRate(tenant: tenant, rate: Self.sum(rates.map(\.rate), nights: count))
        }.sorted { $0.tenant < $1.tenant }
        return SuccessRates(nights: count, fleet: Self.sum(rates.map(\.rate), nights: count), tenants: tenants, customers: rates)
    }

    static func sum(_ rates: [SuccessRate], nights: Int) -> SuccessRate {
        SuccessRate(
            nights: nights, expected: rates.reduce(0) { $0.addingClamped($1.expected) },
            succeeded: rates.reduce(0) { $0.addingClamped($1.succeeded) })
    }

    /// The dashboard's figures: what is wrong now, the rate over `count` completed nights, the ten worst customers
    /// and the fleet's rate night by night.
    func fleet(nights count: Int) async throws -> FleetOverview {
        try await database.read { db in
            let watched = "a.is_paused = 0 AND a.is_archived = 0 AND a.is_removed = 0"
            let agents = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM agent a WHERE \(watched)") ?? 0
            let failing =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM agent a JOIN agent_summary s ON s.agent_id = a.id WHERE s.currently_failing = 1 AND \(watched)"
                )
                ?? 0
            var conditions: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, COUNT(*) AS n FROM condition WHERE ended_at IS NULL GROUP BY kind") {
                conditions[row["kind"]] = row["n"]
            }
            func active(_ kind: BackupConditionChanged.Kind) -> Int { conditions[kind.rawValue] ?? 0 }
            let rates = try rates(count: count, db)
            // Night by night, each tenant's completed nights only.
            var tonights: [String: String] = [:]
            for tenant in try String.fetchAll(db, sql: "SELECT DISTINCT tenant FROM customer_night") {
                tonights[tenant] = window(tenant: tenant, completed: 0).tonight
            }
            let newest = tonights.values.max() ?? nights.standard.night(of: clock())
            let shown = NightCalendar.nights(endingWith: NightCalendar.night(newest, adding: -1) ?? newest, count: count)
            var byNight: [String: (expected: Int, succeeded: Int)] = [:]
            for row in try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT tenant, night, SUM(expected) AS expected, SUM(succeeded) AS succeeded FROM customer_night
                        WHERE night >= ? GROUP BY tenant, night
                        """), arguments: [shown.first ?? newest])
            {
                let night: String = row["night"]
                guard night < tonights[row["tenant"] as String] ?? newest else { continue }
                let sum = byNight[night] ?? (0, 0)
                byNight[night] = (sum.expected.addingClamped(row["expected"] ?? 0), sum.succeeded.addingClamped(row["succeeded"] ?? 0))
            }
            return FleetOverview(
                counts: .init(
                    agents: agents, failing: failing, missed: active(.backupMissed), offline: active(.deviceOffline),
                    screenshot: active(.screenshotFailed), storage: active(.applianceStorage)),
                rate: rates.fleet, worstCustomers: Array(rates.customers.filter { $0.rate.rate != nil }.prefix(10)),
                nightly: shown.map { night in
                    FleetOverview.Night(night: night, expected: byNight[night]?.expected ?? 0, succeeded: byNight[night]?.succeeded ?? 0)
                })
        }
    }
}
