import Foundation

/// A SaaS Protection customer (`GET /v1/saas/domains`, a bare array): a Microsoft 365 or Google Workspace domain.
public struct DattoSaaSDomain: Decodable, Sendable, Equatable {
    public var saasCustomerId: Int64
    public var name: String?
    public var domain: String
    public var organizationId: Int64?
    public var organizationName: String?

    enum Keys: String, CodingKey { case saasCustomerId, saasCustomerName, domain, organizationId, organizationName }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let id = c.flexibleInt(.saasCustomerId), id > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .saasCustomerId, in: c, debugDescription: "no saasCustomerId")
        }
        guard let domain = c.flexibleString(.domain)?.trimmingCharacters(in: .whitespacesAndNewlines), !domain.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .domain, in: c, debugDescription: "no domain")
        }
        saasCustomerId = id
        self.domain = String(domain.filter { !$0.isNewline }.prefix(253))
        name = c.flexibleString(.saasCustomerName).map { String($0.prefix(200)) }
        organizationId = c.flexibleInt(.organizationId).flatMap { $0 > 0 ? $0 : nil }
        organizationName = c.flexibleString(.organizationName).map { String($0.prefix(200)) }
    }
}

/// The bare array `/saas/domains` answers; unreadable items are skipped and counted.
struct DattoSaaSDomainList: Decodable, Sendable {
    var domains: [DattoSaaSDomain]
    var skipped = SkippedItems()

    init(from decoder: Decoder) throws {
        let entries = try decoder.singleValueContainer().decode([Lossy<DattoSaaSDomain>].self)
        domains = entries.compactMap(\.value)
        skipped.add(entries)
    }
}

/// One SaaS application's backups (`suites[].appTypes[].backupHistory[]`): Exchange, OneDrive, SharePoint, Teams…
public struct DattoSaaSApplication: Sendable, Equatable {
    public struct Backup: Decodable, Sendable, Equatable {
        public var startTime: Date
        public var status: String
        public var errorMessage: String?

        enum Keys: String, CodingKey { case startTime, status, errorMessage }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            guard let start = c.flexibleDate(.startTime) else {
                throw DecodingError.dataCorruptedError(forKey: .startTime, in: c, debugDescription: "no startTime")
            }
            startTime = start
            status = String((c.flexibleString(.status) ?? "unknown").prefix(40))
            errorMessage = c.flexibleString(.errorMessage).map { String($0.prefix(500)) }
        }
    }

    public var appType: String
    public var backups: [Backup]
}

/// `GET /v1/saas/{id}/applications`: `{"suites": [{"appTypes": [{"appType", "backupHistory": […]}]}]}`, also
/// accepted wrapped in `items` or as a bare array of such objects. At most 50 applications of 200 backups each.
struct DattoSaaSApplications: Decodable, Sendable {
    var applications: [DattoSaaSApplication] = []

    private struct Suite: Decodable { var appTypes: [Lossy<AppType>]? }
    private struct AppType: Decodable, Sendable {
        var name: String
        var backups: [DattoSaaSApplication.Backup]
        enum Keys: String, CodingKey { case appType, name, backupHistory }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            guard let name = (c.flexibleString(.appType) ?? c.flexibleString(.name))?.trimmingCharacters(in: .whitespaces), !name.isEmpty
            else { throw DecodingError.dataCorruptedError(forKey: .appType, in: c, debugDescription: "no appType") }
            self.name = String(name.filter { $0.isLetter || $0.isNumber || $0 == " " }.prefix(60))
            backups =
                ((try? c.decodeIfPresent([Lossy<DattoSaaSApplication.Backup>].self, forKey: .backupHistory)) ?? nil)?
                .compactMap(\.value).prefix(200).map { $0 } ?? []
        }
    }
    private struct Wrapper: Decodable {
        var suites: [Suite]?
        var items: [Wrapper]?
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let wrappers: [Wrapper]
        if let array = try? container.decode([Wrapper].self) { wrappers = array } else { wrappers = [try container.decode(Wrapper.self)] }
        var apps: [DattoSaaSApplication] = []
        func collect(_ wrapper: Wrapper) {
            for suite in wrapper.suites ?? [] {
                for app in (suite.appTypes ?? []).compactMap(\.value) where !app.name.isEmpty {
                    apps.append(DattoSaaSApplication(appType: app.name, backups: app.backups))
                }
            }
            for inner in wrapper.items ?? [] { collect(inner) }
        }
        wrappers.forEach(collect)
        applications = Array(apps.prefix(50))
    }
}
