import Foundation
import Testing

@testable import CollectorService

@Suite("Tolerant decoding of Datto's shapes")
struct DattoDecodingTests {
    @Test("devices: ids and sizes as numbers or strings, storage converted with its units, dates in either form")
    func devices() throws {
        let json = #"""
            [{"serialNumber": "A1", "organizationId": "123", "hidden": 1, "lastSeenDate": "2020-04-29T14:01:03+00:00",
              "localStorageUsed": {"size": "2", "units": "TB"}, "localStorageAvailable": {"size": 512, "units": "MB"},
              "offsiteStorageUsed": null, "agentCount": "5"},
             {"serialNumber": 42, "clientCompanyName": "  Acme   Corp ", "lastSeenDate": 1588168863}]
            """#
        let devices = try JSONDecoder().decode([DattoDevice].self, from: Data(json.utf8))
        #expect(devices[0].organizationId == 123)
        #expect(devices[0].hidden)
        #expect(devices[0].localStorageUsedBytes == Int64(2) * 1_099_511_627_776)
        #expect(devices[0].localStorageAvailableBytes == Int64(512) * 1_048_576)
        #expect(devices[0].offsiteStorageUsedBytes == nil)
        #expect(devices[0].agentCount == 5)
        #expect(devices[0].lastSeenDate == Date(timeIntervalSince1970: 1_588_168_863))
        #expect(devices[1].serialNumber == "42")
        #expect(devices[1].lastSeenDate == Date(timeIntervalSince1970: 1_588_168_863))
    }

    @Test("assets: 0 and null mean never, one bad run does not hide the others, no status is not a success")
    func assets() throws {
        let json = #"""
            [{"volume": "v1", "name": "DC01", "type": "agent", "lastSnapshot": 0, "latestOffsite": null,
              "lastScreenshotAttempt": "1759310000", "lastScreenshotAttemptStatus": "true", "isPaused": "0",
              "backups": [
                {"timestamp": "2026-10-01T14:01:03+02:00", "backup": {"status": "success", "errorMessage": null,
                 "totalUsedStorage": "1024"}, "localVerification": {"status": "success", "errors": []}},
                {"timestamp": "not a date"},
                {"timestamp": 1759330000000, "backup": {}},
                "garbage"
              ]},
             {"name": "no volume"}]
            """#
        let list = try JSONDecoder().decode(DattoAssetList.self, from: Data(json.utf8))
        let assets = list.assets
        #expect(assets.count == 1)
        // What could not be read is counted (and logged by the client), never silently gone: the asset without a
        // volume, the run without a date and the bare string.
        #expect(list.skipped.count == 3)
        #expect(list.skipped.firstProblem != nil)
        let asset = try #require(assets.first)
        #expect(asset.lastSnapshot == nil && asset.latestOffsite == nil)
        #expect(asset.lastScreenshotAttempt == Date(timeIntervalSince1970: 1_759_310_000))
        #expect(asset.lastScreenshotAttemptStatus == true)
        #expect(asset.backups.count == 2)
        #expect(asset.backups[0].timestamp == Date(timeIntervalSince1970: 1_790_856_063))
        #expect(asset.backups[0].sizeBytes == 1_024)
        // Milliseconds are recognised; a run without a status counts as a failure, never as a success.
        #expect(asset.backups[1].timestamp == Date(timeIntervalSince1970: 1_759_330_000))
        #expect(asset.backups[1].status == "unknown")
    }

    @Test("a page whose every device is unreadable still counts as a page: paging goes on, the skip is counted")
    func unreadablePage() throws {
        let json = #"{"pagination": {"page": 1, "perPage": 2, "totalPages": 2}, "items": [{"name": "no serial"}, 7]}"#
        let page = try JSONDecoder().decode(DattoPage<DattoDevice>.self, from: Data(json.utf8))
        #expect(page.items.isEmpty)
        #expect(page.skipped.count == 2)
        // An agent whose `backups` is not a list at all: its runs are reported as unreadable, not as "none".
        let asset = try JSONDecoder().decode(DattoAsset.self, from: Data(#"{"volume": "v", "name": "n", "backups": {"x": 1}}"#.utf8))
        #expect(asset.backups.isEmpty)
        #expect(asset.skippedBackups.count == 1)
    }
}
