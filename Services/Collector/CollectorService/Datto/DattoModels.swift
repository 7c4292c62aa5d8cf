import Foundation
import VectisContracts

/// A BCDR appliance, decoded tolerantly: every field the reference lists, each accepted in any of the types
/// sources disagree on, none required but the serial number.
public struct DattoDevice: Decodable, Sendable, Equatable {
    public var serialNumber: String
    public var name: String?
    public var model: String?
    public var lastSeenDate: Date?
    public var clientCompanyName: String?
    public var organizationId: Int64?
    public var organizationName: String?
    public var hidden: Bool
    public var localStorageUsedBytes: Int64?
    public var localStorageAvailableBytes: Int64?
    public var offsiteStorageUsedBytes: Int64?
    public var internalIP: String?
    public var agentCount: Int?
    public var shareCount: Int?
    public var alertCount: Int?
    public var servicePlan: String?
    public var remoteWebUrl: String?

    enum Keys: String, CodingKey {
        case serialNumber, name, model, lastSeenDate, clientCompanyName, organizationId, organizationName, hidden
        case localStorageUsed, localStorageAvailable, offsiteStorageUsed, internalIP, agentCount, shareCount, alertCount
        case servicePlan, remoteWebUrl
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let serial = c.flexibleString(.serialNumber), !serial.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "device without serialNumber"))
        }
        serialNumber = serial
        name = c.flexibleString(.name)
        model = c.flexibleString(.model)
        lastSeenDate = c.flexibleDate(.lastSeenDate)
        clientCompanyName = c.flexibleString(.clientCompanyName)
        organizationId = c.flexibleInt(.organizationId)
        organizationName = c.flexibleString(.organizationName)
        hidden = c.flexibleBool(.hidden) ?? false
        localStorageUsedBytes = c.storageBytes(.localStorageUsed)
        localStorageAvailableBytes = c.storageBytes(.localStorageAvailable)
        offsiteStorageUsedBytes = c.storageBytes(.offsiteStorageUsed)
        internalIP = c.flexibleString(.internalIP)
        // A count below zero is not a count.
        agentCount = c.flexibleInt(.agentCount).flatMap { $0 >= 0 ? Int($0) : nil }
        shareCount = c.flexibleInt(.shareCount).flatMap { $0 >= 0 ? Int($0) : nil }
        alertCount = c.flexibleInt(.alertCount).flatMap { $0 >= 0 ? Int($0) : nil }
        servicePlan = c.flexibleString(.servicePlan)
        remoteWebUrl = c.flexibleString(.remoteWebUrl)
    }
}

/// An agent or share on a device, with its recent backups.
public struct DattoAsset: Decodable, Sendable, Equatable {
    public var name: String
    public var volume: String
    public var type: String
    public var localIp: String?
    public var os: String?
    public var fqdn: String?
    public var agentVersion: String?
    public var isPaused: Bool
    public var isArchived: Bool
    public var lastSnapshot: Date?
    public var latestOffsite: Date?
    public var lastScreenshotAttempt: Date?
    public var lastScreenshotAttemptStatus: Bool?
    public var backups: [DattoBackup]
    /// Runs in `backups` that could not be read (kept out, counted and logged by the client).
    var skippedBackups = SkippedItems()

    enum Keys: String, CodingKey {
        case name, volume, type, localIp, os, fqdn, agentVersion, isPaused, isArchived, lastSnapshot, latestOffsite
        case lastScreenshotAttempt, lastScreenshotAttemptStatus, backups
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let volume = c.flexibleString(.volume), !volume.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "asset without volume"))
        }
        self.volume = volume
        name = c.flexibleString(.name) ?? volume
        type = c.flexibleString(.type)?.lowercased() ?? "agent"
        localIp = c.flexibleString(.localIp)
        os = c.flexibleString(.os)
        fqdn = c.flexibleString(.fqdn)
        agentVersion = c.flexibleString(.agentVersion)
        isPaused = c.flexibleBool(.isPaused) ?? false
        isArchived = c.flexibleBool(.isArchived) ?? false
        lastSnapshot = c.flexibleDate(.lastSnapshot)
        latestOffsite = c.flexibleDate(.latestOffsite)
        lastScreenshotAttempt = c.flexibleDate(.lastScreenshotAttempt)
        lastScreenshotAttemptStatus = c.flexibleBool(.lastScreenshotAttemptStatus)
        // One unreadable run must not hide the others.
        do {
            let entries = try c.decodeIfPresent([Lossy<DattoBackup>].self, forKey: .backups) ?? []
            backups = entries.compactMap(\.value)
            skippedBackups.add(entries)
        } catch {
            backups = []  // not a list at all: every run of this agent is unreadable, and the client says so
            skippedBackups.add(problem: "backups: \(error)")
        }
    }
}

/// One entry of `backups[]`.
public struct DattoBackup: Decodable, Sendable, Equatable {
    public var timestamp: Date
    public var status: String
    public var errorMessage: String?
    public var sizeBytes: Int64?
    public var localVerificationStatus: String?
    public var localVerificationErrors: [BackupVerification.Problem]
    public var screenshotStatus: String?
    public var screenshotImage: String?

    enum Keys: String, CodingKey { case timestamp, backup, localVerification, advancedVerification }
    enum BackupKeys: String, CodingKey { case status, errorMessage, totalUsedStorage }
    enum VerificationKeys: String, CodingKey { case status, errors }
    enum ProblemKeys: String, CodingKey { case errorType, errorMessage }
    enum AdvancedKeys: String, CodingKey { case screenshotVerification }
    enum ScreenshotKeys: String, CodingKey { case status, image }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let timestamp = c.flexibleDate(.timestamp) else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "backup without timestamp"))
        }
        self.timestamp = timestamp
        let backup = try? c.nestedContainer(keyedBy: BackupKeys.self, forKey: .backup)
        // A run without a readable status is not a confirmed success.
        status = backup?.flexibleString(.status) ?? "unknown"
        errorMessage = backup?.flexibleString(.errorMessage)
        sizeBytes = backup?.flexibleInt(.totalUsedStorage)
        let local = try? c.nestedContainer(keyedBy: VerificationKeys.self, forKey: .localVerification)
        localVerificationStatus = local?.flexibleString(.status)
        var problems: [BackupVerification.Problem] = []
        if var errors = try? local?.nestedUnkeyedContainer(forKey: .errors) {
            while !errors.isAtEnd {
                guard let problem = try? errors.nestedContainer(keyedBy: ProblemKeys.self) else {
                    _ = try? errors.decode(Lossy<String>.self)
                    continue
                }
                problems.append(.init(type: problem.flexibleString(.errorType), message: problem.flexibleString(.errorMessage)))
            }
        }
        localVerificationErrors = problems
        let advanced = try? c.nestedContainer(keyedBy: AdvancedKeys.self, forKey: .advancedVerification)
        let screenshot = try? advanced?.nestedContainer(keyedBy: ScreenshotKeys.self, forKey: .screenshotVerification)
        screenshotStatus = screenshot?.flexibleString(.status)
        screenshotImage = screenshot?.flexibleString(.image)
    }
}

/// The paged envelope of `/bcdr/device`.
/// One of Datto's own device alerts (`GET /bcdr/device/{sn}/alert`): no id and no cleared flag; cleared means
/// no longer listed. Strings are cut to what a screen shows; a type is required.
public struct DattoDeviceAlert: Decodable, Sendable, Equatable {
    public var type: String
    public var threshold: Int64?
    public var unit: String?
    public var dateTriggered: Date?

    enum Keys: String, CodingKey { case type, threshold, unit, dateTriggered }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        guard let type = c.flexibleString(.type)?.trimmingCharacters(in: .whitespacesAndNewlines), !type.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "an alert without a type")
        }
        self.type = String(type.filter { !$0.isNewline }.prefix(120))
        threshold = c.flexibleInt(.threshold)
        unit = c.flexibleString(.unit).map { String($0.prefix(30)) }
        dateTriggered = c.flexibleDate(.dateTriggered)
    }
}

struct DattoPage<Item: Decodable & Sendable>: Decodable, Sendable {
    struct Pagination: Decodable, Sendable {
        var page: Int
        var perPage: Int
        var totalPages: Int
        var count: Int?

        enum Keys: String, CodingKey { case page, perPage, totalPages, count }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Keys.self)
            page = c.flexibleInt(.page).map(Int.init) ?? 1
            perPage = c.flexibleInt(.perPage).map(Int.init) ?? 0
            totalPages = c.flexibleInt(.totalPages).map(Int.init) ?? 0
            count = c.flexibleInt(.count).map(Int.init)
        }
    }

    var pagination: Pagination
    var items: [Item]
    var skipped = SkippedItems()

    enum Keys: String, CodingKey { case pagination, items }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        pagination = try c.decode(Pagination.self, forKey: .pagination)
        let entries = try c.decodeIfPresent([Lossy<Item>].self, forKey: .items) ?? []
        items = entries.compactMap(\.value)
        skipped.add(entries)
    }
}

/// `/asset` comes as a bare array, an object keyed by stringified index (`{"0": {...}}`), or `{items: [...]}`.
struct DattoAssetList: Decodable, Sendable {
    var assets: [DattoAsset]
    /// Assets that could not be read, and runs that could not be read inside the assets that could.
    var skipped = SkippedItems()

    init(from decoder: Decoder) throws {
        let entries = try Self.entries(decoder)
        assets = entries.compactMap(\.value)
        skipped.add(entries)
        for asset in assets { skipped.add(asset.skippedBackups) }
    }

    private static func entries(_ decoder: Decoder) throws -> [Lossy<DattoAsset>] {
        if let array = try? decoder.singleValueContainer().decode([Lossy<DattoAsset>].self) { return array }
        struct Envelope: Decodable { var items: [Lossy<DattoAsset>] }
        if let envelope = try? decoder.singleValueContainer().decode(Envelope.self) { return envelope.items }
        // One asset as a bare object (the shape of Datto's own published example): a one-element list.
        struct Probe: Decodable {
            var volume: String?
            var name: String?
            var backups: [Lossy<DattoBackup>]?
        }
        if let probe = try? decoder.singleValueContainer().decode(Probe.self), probe.volume != nil || probe.backups != nil,
            let single = try? decoder.singleValueContainer().decode(DattoAsset.self)
        {
            return [Lossy(single)]
        }
        let keyed = try decoder.singleValueContainer().decode([String: Lossy<DattoAsset>].self)
        return keyed.sorted { (Int($0.key) ?? .max, $0.key) < (Int($1.key) ?? .max, $1.key) }.map(\.value)
    }
}

/// Decodes an element if it can, so one bad item does not lose the rest; what went wrong is kept to be reported.
struct Lossy<Value: Decodable & Sendable>: Decodable, Sendable {
    var value: Value?
    var problem: String?

    init(_ value: Value) {
        self.value = value
    }

    init(from decoder: Decoder) throws {
        do {
            value = try Value(from: decoder)
        } catch {
            problem = "\(error)"
        }
    }
}

/// How many items of an answer could not be read, and the first reason: logged by the client, never silent.
struct SkippedItems: Sendable, Equatable {
    var count = 0
    var firstProblem: String?

    mutating func add<Value>(_ entries: [Lossy<Value>]) {
        for entry in entries { if let problem = entry.problem { add(problem: problem) } }
    }

    mutating func add(problem: String) {
        count += 1
        if firstProblem == nil { firstProblem = String(problem.prefix(300)) }
    }

    mutating func add(_ other: SkippedItems) {
        count += other.count
        if firstProblem == nil { firstProblem = other.firstProblem }
    }
}

// MARK: - Tolerant field readers

extension KeyedDecodingContainer {
    func flexibleString(_ key: Key) -> String? {
        if let text = try? decodeIfPresent(String.self, forKey: key) { return text }
        if let number = try? decodeIfPresent(Int64.self, forKey: key) { return String(number) }
        if let number = try? decodeIfPresent(Double.self, forKey: key) { return String(number) }
        return nil
    }

    func flexibleInt(_ key: Key) -> Int64? {
        if let number = try? decodeIfPresent(Int64.self, forKey: key) { return number }
        // Int64(Double) traps outside Int64's range: a hostile 1e300 must read as "no number", not end the process.
        if let number = try? decodeIfPresent(Double.self, forKey: key), let whole = Int64(exactly: number.rounded(.towardZero)) {
            return whole
        }
        if let text = try? decodeIfPresent(String.self, forKey: key) { return Int64(text.trimmingCharacters(in: .whitespaces)) }
        return nil
    }

    func flexibleBool(_ key: Key) -> Bool? {
        if let flag = try? decodeIfPresent(Bool.self, forKey: key) { return flag }
        if let number = try? decodeIfPresent(Int64.self, forKey: key) { return number != 0 }
        if let text = try? decodeIfPresent(String.self, forKey: key) {
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no", "": return false
            default: return nil
            }
        }
        return nil
    }

    /// ISO-8601 with any offset, or epoch seconds (number or numeric string). 0 and null mean never.
    func flexibleDate(_ key: Key) -> Date? {
        if let seconds = flexibleEpoch(key) { return seconds }
        guard let text = try? decodeIfPresent(String.self, forKey: key), !text.isEmpty, text.utf8.count < 64,
            let date = BusJSON.parseTimestamp(text), date.timeIntervalSince1970 >= 1, date.timeIntervalSince1970 <= 7_258_118_400
        else { return nil }
        return date
    }

    private func flexibleEpoch(_ key: Key) -> Date? {
        var seconds: Double?
        if let number = try? decodeIfPresent(Double.self, forKey: key) {
            seconds = number
        } else if let text = try? decodeIfPresent(String.self, forKey: key), let number = Double(text) {
            seconds = number
        }
        // Below a second past 1970 (0, or a denormal like 4.9e-324) means never, as 0 does.
        guard let seconds, seconds.isFinite, seconds >= 1 else { return nil }
        // Some clients report milliseconds; anything past the year 5000 in seconds must be that.
        let normalized = seconds > 95_617_584_000 ? seconds / 1000 : seconds
        // Nothing a backup appliance reports lies after 2200: a larger number is not a date.
        return normalized <= 7_258_118_400 ? Date(timeIntervalSince1970: normalized) : nil
    }

    /// `{"size": 1843, "units": "GB"}` (units read, never assumed), or a plain number of bytes.
    func storageBytes(_ key: Key) -> Int64? {
        if let storage = try? decodeIfPresent(DattoStorage.self, forKey: key), let size = storage.size {
            let multiplier: Double
            switch (storage.units ?? "B").uppercased() {
            case "TB": multiplier = 1_099_511_627_776
            case "GB": multiplier = 1_073_741_824
            case "MB": multiplier = 1_048_576
            case "KB": multiplier = 1_024
            default: multiplier = 1
            }
            // Int64(Double) traps past Int64's range: an absurd size reads as unknown, never ends the process.
            let bytes = (size * multiplier).rounded(.down)
            guard bytes.isFinite, bytes >= 0 else { return nil }
            return Int64(exactly: bytes)
        }
        // A plain number of bytes; below zero is not a size.
        return flexibleInt(key).flatMap { $0 >= 0 ? $0 : nil }
    }
}

/// `{"size": 1843, "units": "GB"}`.
struct DattoStorage: Decodable {
    var size: Double?
    var units: String?
    enum Keys: String, CodingKey { case size, units }
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        size = c.flexibleInt(.size).map(Double.init) ?? (try? c.decodeIfPresent(Double.self, forKey: .size)) ?? nil
        units = c.flexibleString(.units)
    }
}
