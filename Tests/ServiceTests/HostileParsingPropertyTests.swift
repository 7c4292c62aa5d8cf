import Foundation
import PropertyBased
import Testing
import VectisAPI
import VectisRuntime
import VectisTestSupport

@testable import CollectorService
@testable import RulesService

/// Leaves of JSON a hostile or broken upstream could send in any field: numbers at and past every limit, odd
/// spellings of numbers, long and strange strings, the wrong types.
enum HostileJSON {
    static let awkwardNumbers = [
        "0", "-0", "-1", "1e300", "-1e300", "1e-320", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1e20", "0.5", "-0.5", "4.9e-324", "1.7976931348623157e308", "123456789012345678901234567890"
    ]
    static let awkwardStrings = [
        "", " ", "infinity", "-infinity", "NaN", "nan", "1e300", "9999-12-31T23:59:59Z", "0000-00-00T00:00:00Z",
        "2200-01-02T00:00:00Z", "1969-12-31T23:59:59Z", "1e20", "-1", "TB", "PB", "\u{0}", "\u{202e}evil", "<img src=x onerror=1>"
    ]

    /// One JSON value as text, chosen and filled from three random numbers (generated, so failures shrink).
    static func leaf(_ choice: Int64, _ value: Int64, _ seed: Int64) -> String {
        switch choice.magnitude % 7 {
        case 0: return String(value)
        case 1:
            let double = Double(bitPattern: UInt64(bitPattern: value))
            return double.isFinite ? "\(double)" : "1e308"
        case 2: return awkwardNumbers[Int(value.magnitude % UInt64(awkwardNumbers.count))]
        case 3: return quoted(awkwardStrings[Int(value.magnitude % UInt64(awkwardStrings.count))])
        case 4:
            var generator = SplitMix(state: UInt64(bitPattern: seed))
            let scalars = (0..<Int(value.magnitude % 80)).compactMap { _ in Unicode.Scalar(UInt32(generator.next() % 0x2FFF) + 1) }
            return quoted(String(String.UnicodeScalarView(scalars)))
        case 5: return ["true", "false", "null", "[]", "{}", "[1, \"2\"]", "{\"size\": 1e300, \"units\": \"TB\"}"][Int(value.magnitude % 7)]
        default: return quoted(String(value))
        }
    }

    /// `count` leaves from `3 × count` numbers.
    static func leaves(_ numbers: [Int64], _ count: Int) -> [String] {
        (0..<count).map { index in leaf(numbers[3 * index], numbers[3 * index + 1], numbers[3 * index + 2]) }
    }

    typealias SplitMix = SplitMix64

    static func quoted(_ text: String) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])) ?? Data("[\"\"]".utf8),
            as: UTF8.self
        )
        .dropFirst().dropLast().description
    }

    /// An object with each key set to one leaf.
    static func object(_ keys: [String], _ values: [String]) -> String {
        "{" + zip(keys, values).map { "\(quoted($0)): \($1)" }.joined(separator: ", ") + "}"
    }
}

@Suite("Hostile answers, generated: the Datto decoder and the PSA parsers never trap and keep their invariants")
struct HostileParsingPropertyTests {
    static let earliest = Date(timeIntervalSince1970: 0)
    static let latest = Date(timeIntervalSince1970: 7_258_118_400)  // 2200-01-01

    static func dateIsSane(_ date: Date?) -> Bool { date.map { $0 > earliest && $0 <= latest } ?? true }

    @Test("a Datto device with any value in any field: decoded or refused, never a negative size or count, never a date outside 1970–2200")
    func dattoDevices() async {
        let keys = [
            "serialNumber", "name", "lastSeenDate", "organizationId", "hidden", "localStorageUsed", "localStorageAvailable",
            "offsiteStorageUsed", "agentCount", "shareCount", "alertCount", "remoteWebUrl"
        ]
        await propertyCheck(count: 400, input: Gen.int64().array(of: (3 * keys.count)...(3 * keys.count))) { numbers in
            let text = "[" + HostileJSON.object(keys, HostileJSON.leaves(numbers, keys.count)) + "]"
            guard let devices = try? JSONDecoder().decode([DattoDevice].self, from: Data(text.utf8)), let device = devices.first else {
                return
            }
            #expect(!device.serialNumber.isEmpty)
            for bytes in [device.localStorageUsedBytes, device.localStorageAvailableBytes, device.offsiteStorageUsedBytes] {
                #expect((bytes ?? 0) >= 0, "\(text)")
            }
            for count in [device.agentCount, device.shareCount, device.alertCount] { #expect((count ?? 0) >= 0, "\(text)") }
            #expect(Self.dateIsSane(device.lastSeenDate), "\(text)")
        }
    }

    @Test("a Datto asset page with any value in any field, backups included: decoded or refused, dates within 1970–2200")
    func dattoAssets() async {
        let keys = [
            "volume", "name", "type", "isPaused", "isArchived", "lastSnapshot", "latestOffsite", "lastScreenshotAttempt",
            "lastScreenshotAttemptStatus"
        ]
        let backupKeys = ["timestamp", "backup", "localVerification", "advancedVerification"]
        await propertyCheck(count: 300, input: Gen.int64().array(of: (3 * keys.count + 12)...(3 * keys.count + 12))) { numbers in
            let all = HostileJSON.leaves(numbers, keys.count + 4)
            let (values, backup) = (Array(all.prefix(keys.count)), Array(all.suffix(4)))
            let backups =
                "[" + HostileJSON.object(backupKeys, backup)
                + ", {\"timestamp\": \(backup[0]), \"backup\": {\"status\": \(backup[1]), \"totalUsedStorage\": \(backup[2])}}]"
            let text = "[" + String(HostileJSON.object(keys, values).dropLast()) + ", \"backups\": \(backups)}]"
            guard let assets = try? JSONDecoder().decode([DattoAsset].self, from: Data(text.utf8)), let asset = assets.first else { return }
            #expect(!asset.volume.isEmpty)
            for date in [asset.lastSnapshot, asset.latestOffsite, asset.lastScreenshotAttempt] { #expect(Self.dateIsSane(date), "\(text)") }
            for run in asset.backups { #expect(Self.dateIsSane(run.timestamp), "\(text)") }
        }
    }

    @Test("Retry-After from Datto or a PSA, any text: a wait between 0 and its cap, never a trap")
    func retryAfter() async {
        let headers = ["1e20", "-1e20", "inf", "nan", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"]
        await propertyCheck(count: 500, input: Gen.int64().array(of: 4...4)) { numbers in
            let leaf = HostileJSON.leaf(numbers[0], numbers[1], numbers[2])
            let header =
                numbers[3] % 3 == 0
                ? headers[Int(numbers[3].magnitude % UInt64(headers.count))] : leaf.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let psa = PSAHTTPClient.retryAfter(header)
            #expect(psa >= .zero && psa <= .seconds(60), "\(header)")
            if let value = Double(header) {
                if let datto = DattoClient.clampedWait(value) { #expect(datto >= .zero && datto <= .seconds(86_400), "\(header)") }
            }
        }
    }

    @Test("PSA answers of any shape: token lifetimes within 120 s–1 day, pick-list ids exact, error text bounded")
    func psaAnswers() async {
        await propertyCheck(count: 400, input: Gen.int64().array(of: 12...12)) { numbers in
            let text = "[" + HostileJSON.object(["expires_in", "id", "name", "message"], HostileJSON.leaves(numbers, 4)) + "]"
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? [[String: Any]],
                let object = parsed.first
            else { return }
            let lifetime = HaloAdapter.tokenLifetime(object["expires_in"])
            #expect((120...86_400).contains(lifetime), "\(text)")
            for choice in PSAChoice.list(parsed) {
                #expect(Double(choice.id) == (object["id"] as? NSNumber)?.doubleValue ?? Double(choice.id))
            }
            let message = UpstreamText.sanitized(PSAHTTPClient.genericMessage(400, object))
            #expect(message.count <= UpstreamText.maxCharacters + 1, "\(text)")
        }
    }
}
