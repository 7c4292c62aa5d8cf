import Foundation
import Testing

@testable import CollectorService

/// SaaS Protection answers, read defensively: every shape seen, and hostile values.
@Suite("SaaS Protection payloads")
struct SaaSModelTests {
    @Test("applications come as suites, wrapped in items, or as an array; backups without a start are skipped; names are cut")
    func applications() throws {
        let suites =
            #"{"suites": [{"suiteType": "Microsoft365", "appTypes": [{"appType": "Exchange", "backupHistory": [{"status": "Success", "startTime": 1790000000, "endTime": 1790001800}, {"status": "Failed", "startTime": "1790086400", "errorMessage": "throttled"}, {"status": "Success"}]}, {"backupHistory": []}]}]}"#
        let read = try JSONDecoder().decode(DattoSaaSApplications.self, from: Data(suites.utf8)).applications
        #expect(read.count == 1 && read[0].appType == "Exchange" && read[0].backups.count == 2)
        #expect(read[0].backups[1].status == "Failed" && read[0].backups[1].errorMessage == "throttled")
        let wrapped = #"{"items": [{"suites": [{"appTypes": [{"name": "OneDrive", "backupHistory": []}]}]}]}"#
        #expect(try JSONDecoder().decode(DattoSaaSApplications.self, from: Data(wrapped.utf8)).applications.map(\.appType) == ["OneDrive"])
        let array = #"[{"suites": [{"appTypes": [{"appType": "Share<Point>\n", "backupHistory": [{"status": 1, "startTime": 1e300}]}]}]}]"#
        let hostile = try JSONDecoder().decode(DattoSaaSApplications.self, from: Data(array.utf8)).applications
        #expect(hostile.map(\.appType) == ["SharePoint"] && hostile[0].backups.isEmpty, "a start past 2200 is no date")
    }

    @Test("domains need an id and a domain; organization ids that are not positive are none")
    func domains() throws {
        let body =
            #"[{"saasCustomerId": 12, "saasCustomerName": "Acme", "domain": "acme.example", "organizationId": -4}, {"domain": "x.example"}, {"saasCustomerId": 1e300, "domain": "y"}, {"saasCustomerId": "13", "domain": "  "}]"#
        let list = try JSONDecoder().decode(DattoSaaSDomainList.self, from: Data(body.utf8))
        #expect(list.domains.map(\.saasCustomerId) == [12] && list.domains[0].organizationId == nil && list.skipped.count == 3)
        #expect(SyncRunner.customer(of: list.domains[0]).key == "name:acme")
    }
}

/// Endpoint Backup answers: the envelope or a bare array, booleans or words, hostile ids.
@Suite("Endpoint Backup payloads")
struct EndpointModelTests {
    @Test("endpoints need a usable assetUuid; backups without a time are skipped; a status word counts as a boolean")
    func endpoints() throws {
        let envelope =
            #"{"pagination": {"page": 1, "perPage": 100, "totalPages": 1}, "items": [{"assetUuid": "0f0e-11", "name": "LT1", "organizationId": 7, "last10Backups": [{"timestamp": 1790000000, "backupStatus": true}, {"timestamp": 1790086400, "backupStatus": "success"}, {"timestamp": 1790172800, "backupStatus": "nope"}, {"backupStatus": true}]}, {"assetUuid": "../../etc/passwd"}, {"name": "no uuid"}]}"#
        let list = try JSONDecoder().decode(DattoEndpointAssetList.self, from: Data(envelope.utf8))
        #expect(list.assets.count == 1 && list.skipped.count == 2)
        #expect(list.assets[0].backups.map(\.succeeded) == [true, true, false])
        let bare = #"[{"assetUuid": "abc", "hostname": "LAPTOP-2\nx", "organizationId": 1e300}]"#
        let asset = try #require(try JSONDecoder().decode(DattoEndpointAssetList.self, from: Data(bare.utf8)).assets.first)
        #expect(asset.name == "LAPTOP-2x" && asset.organizationId == nil && asset.backups.isEmpty)
    }
}
