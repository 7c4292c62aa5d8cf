import Foundation
import Testing
import VectisContracts

/// One realistic value of every event type on the bus.
enum Samples {
    static let customer = CustomerRef(key: "org:123456", name: "Acme Corp")
    static let at = Date(timeIntervalSince1970: 1_790_000_000.25)
    static let subject = AlertSubject(customer: customer, deviceSerial: "A1B2C3D4E5F6", agentVolume: "vol-1", agentName: "ACME-DC01")
    static let alert = AlertSnapshot(
        alertId: "al-1", type: "backup-job-failure", severity: .high, state: .open, subject: subject, occurrences: 2,
        firstSeenAt: at, lastSeenAt: at, lastError: "BKP0615 Backup skipped", failedNightsInARow: 2)
    static let ticket = TicketRef(
        dedupeKey: "rule-1|A1B2C3D4E5F6|vol-1", psa: .connectwise, externalId: "4711", ruleId: "rule-1", subject: subject)

    static let all: [any BusEvent] = [
        DattoDeviceSeen(
            serialNumber: "A1B2C3D4E5F6", name: "ACME-SIRIS-01", model: "S5-4", customer: customer, lastSeenAt: at,
            localStorageUsedBytes: 1_843_000_000_000, remoteWebURL: "https://device.dattobackup.com/x", agentCount: 5,
            assetVolumes: ["vol-1", "vol-2"]),
        DattoAgentSeen(
            deviceSerial: "A1B2C3D4E5F6", customer: customer, volume: "vol-1", name: "ACME-DC01", os: "Windows Server 2022",
            ipAddress: "10.0.0.5", isPaused: false, lastSnapshotAt: at, latestOffsiteAt: nil, lastScreenshotSucceeded: true),
        DattoDeviceAlerts(
            serialNumber: "A1B2C3D4E5F6", deviceName: "ACME-SIRIS-01", customer: customer,
            alerts: [.init(type: "Device Not Seen Alert", threshold: 60, unit: "Minutes", triggeredAt: at)], observedAt: at),
        BackupRunObserved(
            deviceSerial: "A1B2C3D4E5F6", agentVolume: "vol-1", agentName: "ACME-DC01", customer: customer, runAt: at,
            rawStatus: "failure", errorMessage: "BKP0615 Backup skipped due to not enough free space",
            verification: BackupVerification(localStatus: "failure", localErrors: [.init(type: "fs", message: "chkdsk")])),
        CollectorSyncStarted(syncId: "s-1", trigger: .initial, region: "us", startedAt: at),
        CollectorSyncProgress(
            syncId: "s-1", startedAt: at, devicesRead: 120, devicesTotal: 500, requests: 126, percent: 24, secondsLeft: 95.5,
            estimatedFinishAt: at.addingTimeInterval(95.5)),
        CollectorSyncCompleted(syncId: "s-1", devices: 2, agents: 9, runsObserved: 90, requests: 12, durationSeconds: 1.5),
        CollectorSyncFailed(
            syncId: "s-2", errorKind: "unauthorized",
            message: "Public key / secret key pair is wrong. Rotate from the Partner Portal and re-enter.",
            endpoint: "/v1/bcdr/device"),
        AssetDeviceChanged(change: .added, serialNumber: "A1B2C3D4E5F6", name: "ACME-SIRIS-01", customer: customer, lastSeenAt: at),
        AssetAgentChanged(
            change: .removed, deviceSerial: "A1B2C3D4E5F6", volume: "vol-2", name: "OLD", customer: customer,
            isPaused: false, isArchived: true, removedAt: at),
        BackupJobRecorded(
            jobId: 42, deviceSerial: "A1B2C3D4E5F6", agentVolume: "vol-1", agentName: "ACME-DC01", customer: customer,
            runAt: at, status: .failure, rawStatus: "failure", errorMessage: "x", night: "2026-09-21", failedNightsInARow: 2),
        BackupConditionChanged(
            kind: .backupMissed, change: .started, customer: customer, deviceSerial: "A1B2C3D4E5F6", deviceName: "ACME-SIRIS-01",
            agentVolume: "vol-1", agentName: "ACME-DC01", lastGoodAt: at, since: at, days: 1, thresholdHours: 26,
            detail: "No successful backup for 31 h", observedAt: at.addingTimeInterval(31 * 3_600)),
        AlertRaised(alert: alert),
        AlertUpdated(alert: alert, reason: .occurrence),
        AlertResolved(alert: alert, reason: "recovered", resolvedAt: at),
        RuleFired(
            ruleId: "rule-1", ruleName: "Datto backup fails 2+ nights in a row (ConnectWise)", templateId: "datto-2-nights-connectwise",
            action: .openTicket, subject: subject, alertId: "al-1", failedNightsInARow: 2),
        TicketOpened(ticket: ticket, summary: "Datto backup failing: ACME-DC01"),
        TicketNoted(ticket: ticket, note: "Failed again (night 3)"),
        TicketClosed(ticket: ticket, note: "Backups recovered"),
        BackupRetryRequested(
            retryId: "r-1", deviceSerial: "A1B2C3D4E5F6", agentVolume: "vol-1", reason: "2 failed nights", requestedBy: "rule-1"),
        BackupRetryCompleted(
            retryId: "r-1", deviceSerial: "A1B2C3D4E5F6", agentVolume: "vol-1", outcome: .noHook,
            detail: "No retry hook configured; start the backup from the appliance.", repolled: true,
            remoteWebURL: "https://device.dattobackup.com/x"),
        BusReplayRequested(
            stream: "collector/host-1", topic: "backup.run.observed", fromSeq: 17, requestedBy: "backups/host-1",
            reason: .gap),
        BusReplayUnavailable(
            stream: "collector/host-1", topic: "backup.run.observed", fromSeq: 1, firstAvailableSeq: 500,
            requestedBy: "backups/host-1", resynchronisation: "the next full poll re-announces every agent"),
        ServiceHeartbeat(
            service: "collector", instance: "host-1", stream: "collector/host-1", version: "0.1.0", uptimeSeconds: 12.5,
            latestSeq: ["backup.run.observed": 42, "datto.device.seen": 7], intervalSeconds: 5)
    ]
}

@Suite("Message contracts")
struct ContractTests {
    let encoder = BusJSON.makeEncoder()
    let decoder = BusJSON.makeDecoder()

    @Test("every catalog type has a sample, and every sample survives a JSON round trip unchanged")
    func roundTrips() throws {
        #expect(Set(Samples.all.map { type(of: $0).topic }) == Set(EventCatalog.all.map { $0.topic }))
        for sample in Samples.all {
            try roundTrip(sample)
        }
    }

    private func roundTrip<E: BusEvent>(_ event: E) throws {
        let data = try encoder.encode(event)
        let decoded = try decoder.decode(E.self, from: data)
        // Equality through a second encoding: every field, nested ones included, made it back.
        #expect(try encoder.encode(decoded) == data, "\(E.topic)")
    }

    @Test("message ids: version 4, and no repeat among 200,000 drawn by four tasks at once (blocks of random bytes shared)")
    func messageIDs() async {
        let ids = await withTaskGroup(of: [UUID].self) { group in
            for _ in 0..<4 { group.addTask { (0..<50_000).map { _ in UUID.randomMessageID() } } }
            return await group.reduce(into: [UUID]()) { $0 += $1 }
        }
        #expect(Set(ids).count == 200_000)
        #expect(ids.allSatisfy { $0.uuid.6 >> 4 == 4 && $0.uuid.8 >> 6 == 0b10 })
        // Bytes are random, not a counter: across all ids each of the 16 × 8 bit positions is set about half the time.
        var ones = [Int](repeating: 0, count: 128)
        for id in ids.prefix(20_000) {
            withUnsafeBytes(of: id.uuid) { bytes in
                for (index, byte) in bytes.enumerated() { for bit in 0..<8 where byte & (1 << bit) != 0 { ones[index * 8 + bit] += 1 } }
            }
        }
        let fixed: Set<Int> = [52, 53, 54, 55, 70, 71]  // the version's and the variant's bits
        for position in 0..<128 where !fixed.contains(position) { #expect((9_000...11_000).contains(ones[position]), "bit \(position)") }
    }

    @Test("topics are unique, lowercase and dot-separated")
    func topicShape() {
        let topics = EventCatalog.all.map { $0.topic }
        #expect(Set(topics).count == topics.count)
        for topic in topics {
            #expect(topic.wholeMatch(of: /[a-z]+(\.[a-z]+)+/) != nil, "\(topic)")
        }
    }

    @Test("header timestamps keep milliseconds and accept other ISO-8601 forms")
    func timestamps() throws {
        let header = MessageHeader(
            schemaVersion: 1, stream: "collector/a", seq: 7, timestamp: Samples.at, customerKey: "org:1",
            correlationId: "poll-9")
        let json = String(decoding: try encoder.encode(header), as: UTF8.self)
        #expect(json.contains(#""timestamp":"2026-09-21T14:13:20.250Z""#))
        #expect(try decoder.decode(MessageHeader.self, from: Data(json.utf8)) == header)
        #expect(BusJSON.parseTimestamp("2020-04-29T14:01:03+00:00") == Date(timeIntervalSince1970: 1_588_168_863))
        #expect(BusJSON.parseTimestamp("yesterday") == nil)
    }

    @Test("fields a reader does not know are ignored")
    func unknownFieldsIgnored() throws {
        let json = #"""
            {"jobId":1,"deviceSerial":"S","agentVolume":"v","agentName":"n","customer":{"key":"k","name":"N","tier":"gold"},
             "runAt":"2026-01-01T00:00:00Z","status":"success","rawStatus":"success","night":"2025-12-31",
             "failedNightsInARow":0,"addedInVersion2":{"anything":[1,2,3]}}
            """#
        let event = try decoder.decode(BackupJobRecorded.self, from: Data(json.utf8))
        #expect(event.status == .success)
        #expect(event.customer.name == "N")
    }

    @Test("only Datto's \"success\" counts as a successful run")
    func runSuccess() {
        var run = Samples.all.compactMap { $0 as? BackupRunObserved }[0]
        run.rawStatus = "Success"
        #expect(run.succeeded)
        for status in ["failure", "failed", "", "error"] {
            run.rawStatus = status
            #expect(!run.succeeded, "\(status)")
        }
    }
}

@Suite("Header JSON codec")
struct HeaderCodecTests {
    let encoder = BusJSON.makeEncoder()
    let decoder = BusJSON.makeDecoder()

    var headers: [MessageHeader] {
        [
            MessageHeader(schemaVersion: 1, stream: "collector/a", seq: 1, timestamp: Samples.at),
            MessageHeader(
                schemaVersion: 3, stream: "backups/host-1", seq: 9_007_199_254_740_993, timestamp: Date(timeIntervalSince1970: 0),
                tenant: "msp-ü", customerKey: "name:acme \"north\"\\ltd/\u{1}\n", correlationId: "poll-7", replay: true),
            MessageHeader(schemaVersion: 1, stream: "x/y", seq: 0, timestamp: Samples.at, customerKey: "org:1", replay: false)
        ]
    }

    @Test("the hand-written writer produces exactly what JSONEncoder produces")
    func writerMatchesFoundation() throws {
        for header in headers {
            #expect(header.jsonBytes() == Array(try encoder.encode(header)), "\(header)")
        }
    }

    @Test("the hand-written reader reads what JSONDecoder reads, unknown fields and whitespace included")
    func readerMatchesFoundation() throws {
        for header in headers {
            #expect(try MessageHeader(jsonBytes: header.jsonBytes()) == header)
        }
        let loose = #"""
             { "tenant" : "default", "extra": {"nested": [1, {"a": "}"}], "n": -1.5e3}, "seq": 5,
               "stream": "a/b", "schemaVersion": 1, "customerKey": null, "flag": true,
               "messageId": "6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11", "timestamp": "2026-01-01T00:00:00+01:00" }
            """#
        let header = try MessageHeader(jsonBytes: Array(loose.utf8))
        #expect(header == (try decoder.decode(MessageHeader.self, from: Data(loose.utf8))))
        #expect(header.seq == 5 && header.customerKey == nil)
        #expect(header.timestamp == Date(timeIntervalSince1970: 1_767_222_000))
    }

    @Test("what JSONDecoder refuses, the reader refuses too")
    func readerRejects() {
        let bad = [
            "", "{}", "[]", "{not json",
            #"{"schemaVersion":"1","messageId":"6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11","stream":"a","seq":1,"timestamp":"2026-01-01T00:00:00Z","tenant":"d"}"#,
            #"{"schemaVersion":1,"messageId":"nope","stream":"a","seq":1,"timestamp":"2026-01-01T00:00:00Z","tenant":"d"}"#,
            #"{"schemaVersion":1,"messageId":"6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11","stream":"a","seq":-1,"timestamp":"2026-01-01T00:00:00Z","tenant":"d"}"#,
            #"{"schemaVersion":1,"messageId":"6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11","stream":"a","seq":1,"timestamp":"2026-01-01T00:00:00Z"}"#
        ]
        for text in bad {
            #expect(throws: (any Error).self, "\(text)") { try MessageHeader(jsonBytes: Array(text.utf8)) }
        }
        // A field the reader does not know must still be JSON, or the bus's reader refuses the header (JSONDecoder is
        // laxer about values it skips — it takes `01`, `1.`, `[1,]` there — so a consumer falls back to it, never the bus).
        let valid =
            #""schemaVersion":1,"messageId":"6F1C1E0B-5B8E-4E0C-9F59-0B8B8E0F2D11","stream":"a/b","seq":1,"#
            + #""timestamp":"2026-01-01T00:00:00Z","tenant":"d""#
        for unknown in [#"[}"#, #"{"a"}"#, "+-.e", "01", "1.", "-", "[1,]", #"{"a":1,}"#, "tru", "1e", #"[["#] {
            let text = "{" + valid + #","x":"# + unknown + "}"
            #expect(MessageHeader(plainJSONBytes: Array(text.utf8)) == nil, "\(text)")
        }
        for unknown in [#"[1,{"a":[true,null,"}"]},-0.5e+3]"#, "0", "-12.25E-2", #"{}"#, "[]"] {
            let text = "{" + valid + #","x":"# + unknown + "}"
            #expect(MessageHeader(plainJSONBytes: Array(text.utf8)) != nil, "\(text)")
        }
    }
}

@Suite("Stable ids")
struct StableIDTests {
    @Test("the same natural key gives the same id in every service; different keys differ")
    func stable() {
        #expect(StableID.customer(tenant: "default", key: "org:1") == StableID.customer(tenant: "default", key: "org:1"))
        #expect(StableID.customer(tenant: "default", key: "org:1") != StableID.customer(tenant: "msp-b", key: "org:1"))
        #expect(
            StableID.agent(tenant: "t", deviceSerial: "ab", volume: "c") != StableID.agent(tenant: "t", deviceSerial: "a", volume: "bc"))
        #expect(StableID.customer(tenant: "default", key: "org:1").wholeMatch(of: /c_[0-9a-f]{16}/) != nil)
    }
}
