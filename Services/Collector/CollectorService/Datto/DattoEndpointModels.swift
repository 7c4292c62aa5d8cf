import Foundation

/// An Endpoint Backup (Direct-to-Cloud) agent (`GET /v1/dtc/assets`) with its last ten backups.
public struct DattoEndpointAsset: Decodable, Sendable, Equatable {
    public struct Backup: Decodable, Sendable, Equatable {
        public var timestamp: Date
        public var succeeded: Bool

        enum Keys: String, CodingKey { case timestamp, backupStatus }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            guard let time = c.flexibleDate(.timestamp) else {
                throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "no timestamp")
            }
            timestamp = time
            // A boolean in the types seen; "success" accepted too. Anything else is a failure.
            succeeded = c.flexibleBool(.backupStatus) ?? ((try? c.decode(String.self, forKey: .backupStatus))?.lowercased() == "success")
        }
    }

    public var assetUuid: String
    public var name: String
    public var organizationId: Int64?
    public var organizationName: String?
    public var backups: [Backup]

    enum Keys: String, CodingKey { case assetUuid, name, hostname, organizationId, organizationName, last10Backups }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let uuid = c.flexibleString(.assetUuid), uuid.wholeMatch(of: /[A-Za-z0-9-]{1,64}/) != nil else {
            throw DecodingError.dataCorruptedError(forKey: .assetUuid, in: c, debugDescription: "no usable assetUuid")
        }
        assetUuid = uuid
        name = String(((c.flexibleString(.name) ?? c.flexibleString(.hostname)) ?? uuid).filter { !$0.isNewline }.prefix(200))
        organizationId = c.flexibleInt(.organizationId).flatMap { $0 > 0 ? $0 : nil }
        organizationName = c.flexibleString(.organizationName).map { String($0.prefix(200)) }
        let entries = (try? c.decodeIfPresent([Lossy<Backup>].self, forKey: .last10Backups)) ?? []
        backups = Array(entries.compactMap(\.value).prefix(50))
    }
}

/// `/dtc/assets`: the paged envelope, or a bare array.
struct DattoEndpointAssetList: Decodable, Sendable {
    var assets: [DattoEndpointAsset]
    var skipped = SkippedItems()
    var totalPages = 1

    enum Keys: String, CodingKey { case items, pagination }

    init(from decoder: Decoder) throws {
        if let array = try? decoder.singleValueContainer().decode([Lossy<DattoEndpointAsset>].self) {
            assets = array.compactMap(\.value)
            skipped.add(array)
            return
        }
        let c = try decoder.container(keyedBy: Keys.self)
        let entries = try c.decodeIfPresent([Lossy<DattoEndpointAsset>].self, forKey: .items) ?? []
        assets = entries.compactMap(\.value)
        skipped.add(entries)
        totalPages = (try? c.decodeIfPresent(DattoPage<DattoEndpointAsset>.Pagination.self, forKey: .pagination))?.totalPages ?? 1
    }
}
