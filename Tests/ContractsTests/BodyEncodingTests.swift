import Foundation
import PropertyBased
import Testing
import VectisContracts

/// The hand-written encodings of the hot bodies must be the bytes `JSONEncoder` writes, for any value: consumers
/// (and `vectis tap`, and a replayed outbox row) cannot tell which wrote a message.
@Suite("Hand-written body encodings equal JSONEncoder's, byte for byte")
struct BodyEncodingTests {
    static let encoder = BusJSON.makeEncoder()

    /// A string from numbers: plain, with quotes, backslashes, slashes, control characters and non-ASCII.
    static func text(_ seed: Int64, length: Int) -> String {
        let alphabet: [Unicode.Scalar] = [
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}",
            "\u{1f}", "\u{7f}", "é", "\u{2028}", "€", "😀", "<", ">", "&", "'"
        ]
        var state = UInt64(bitPattern: seed)
        return String(
            String.UnicodeScalarView(
                (0..<max(0, length % 40)).map { _ in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return alphabet[Int((state >> 33) % UInt64(alphabet.count))]
                }))
    }

    /// A `backup.run.observed` from twelve numbers: any field values, with and without the optional ones.
    static func runObserved(_ n: [Int64]) -> BackupRunObserved {
        let verification =
            n[8] % 3 == 0
            ? nil
            : BackupVerification(
                localStatus: n[9] % 2 == 0 ? nil : Self.text(n[9], length: Int(n[9] % 9)),
                localErrors: (0..<Int(n[10].magnitude % 3)).map { index in
                    BackupVerification.Problem(
                        type: index % 2 == 0 ? Self.text(n[10] &+ Int64(index), length: 5) : nil,
                        message: Self.text(n[11] &+ Int64(index), length: Int(n[11] % 30)))
                },
                screenshotStatus: n[11] % 2 == 0 ? "success" : nil, screenshotImageURL: n[10] % 2 == 0 ? "https://x/y?z=1&w=/" : nil)
        let event = BackupRunObserved(
            deviceSerial: Self.text(n[0], length: 12), agentVolume: Self.text(n[1], length: 30),
            agentName: Self.text(n[2], length: Int(n[2] % 40)),
            customer: CustomerRef(key: Self.text(n[3], length: 10), name: Self.text(n[4], length: 25)),
            runAt: Date(timeIntervalSince1970: Double(n[5].magnitude % 7_258_118_400) + Double(n[5].magnitude % 1000) / 1000),
            rawStatus: Self.text(n[6], length: 8), errorMessage: n[7] % 2 == 0 ? nil : Self.text(n[7], length: Int(n[7] % 40)),
            sizeBytes: n[8] % 2 == 0 ? nil : n[8], verification: verification,
            kind: n[9] % 5 == 0 ? nil : DattoAgentSeen.Kind.allCases[Int(n[9].magnitude % 4)])
        return event
    }

    @Test("backup.run.observed, any field values, with and without the optional ones")
    func runObserved() async throws {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 12...12)) { n in
            let event = Self.runObserved(n)
            let expected = try Self.encoder.encode(event)
            #expect(
                event.busJSON() == [UInt8](expected),
                "\(String(decoding: expected, as: UTF8.self))\n\(String(decoding: event.busJSON(), as: UTF8.self))")
        }
    }

    /// A `backup.job.recorded` from ten numbers: any field values, with and without the optional ones.
    static func jobRecorded(_ n: [Int64]) -> BackupJobRecorded {
        func date(_ value: Int64) -> Date { Date(timeIntervalSince1970: Double(value.magnitude % 7_258_118_400)) }
        let event = BackupJobRecorded(
            jobId: n[0], deviceSerial: Self.text(n[1], length: 12), agentVolume: Self.text(n[2], length: 20),
            agentName: Self.text(n[3], length: Int(n[3] % 40)),
            customer: CustomerRef(key: Self.text(n[4], length: 8), name: Self.text(n[5], length: 20)),
            runAt: date(n[6]), status: n[7] % 2 == 0 ? .success : .failure, rawStatus: Self.text(n[7], length: 7),
            errorMessage: n[8] % 2 == 0 ? nil : Self.text(n[8], length: 30), sizeBytes: n[9] % 2 == 0 ? nil : n[9],
            night: "2026-09-21", failedNightsInARow: Int(n[0] % 100),
            lastSuccessAt: n[1] % 2 == 0 ? nil : date(n[1]), lastFailureAt: n[2] % 2 == 0 ? nil : date(n[2]),
            lastFailureMessage: n[3] % 2 == 0 ? nil : Self.text(n[3], length: 20),
            currentlyFailing: n[4] % 3 == 0 ? nil : n[4] % 3 == 1,
            lastRunAt: n[5] % 2 == 0 ? nil : date(n[5]))
        return event
    }

    @Test("backup.job.recorded, any field values, with and without the optional ones")
    func jobRecorded() async throws {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 10...10)) { n in
            let event = Self.jobRecorded(n)
            let expected = try Self.encoder.encode(event)
            #expect(
                event.busJSON() == [UInt8](expected),
                "\(String(decoding: expected, as: UTF8.self))\n\(String(decoding: event.busJSON(), as: UTF8.self))")
        }
    }

    static func subject(_ n: [Int64]) -> AlertSubject {
        AlertSubject(
            customer: CustomerRef(key: Self.text(n[0], length: 9), name: Self.text(n[1], length: 20)),
            deviceSerial: Self.text(n[2], length: 12), agentVolume: n[3] % 3 == 0 ? nil : Self.text(n[3], length: 15),
            agentName: n[4] % 3 == 0 ? nil : Self.text(n[4], length: Int(n[4] % 30)))
    }

    /// Any `rule.fired`, from twelve numbers.
    static func ruleFired(_ n: [Int64]) -> RuleFired {
        RuleFired(
            ruleId: "ru_\(n[10].magnitude % 1_000)", ruleName: Self.text(n[10], length: 25), templateId: Self.text(n[11], length: 30),
            action: [.openTicket, .noteTicket, .closeTicket, .retry, .notMapped, .reopenTicket, .closedByPerson, .resolvedByPerson][
                Int(n[11].magnitude % 8)], subject: Self.subject(n), alertId: n[0] % 2 == 0 ? nil : "al_1",
            failedNightsInARow: n[1] % 2 == 0 ? nil : Int(n[1] % 30), dryRun: n[2] % 2 == 0,
            detail: n[3] % 2 == 0 ? nil : Self.text(n[3], length: 60), alertType: n[4] % 2 == 0 ? nil : "backup-job-failure",
            subjectId: n[5] % 2 == 0 ? nil : "a_\(n[5].magnitude)")
    }

    static func snapshot(_ n: [Int64]) -> AlertSnapshot {
        func date(_ value: Int64) -> Date { Date(timeIntervalSince1970: Double(value.magnitude % 7_258_118_400)) }
        return AlertSnapshot(
            alertId: "al_\(n[5].magnitude % 100_000)", type: Self.text(n[6], length: 18),
            severity: AlertSeverity.allCases[Int(n[6].magnitude % 3)], state: AlertState.allCases[Int(n[7].magnitude % 4)],
            subject: subject(n), occurrences: Int(n[7] % 1_000), firstSeenAt: date(n[8]), lastSeenAt: date(n[9]),
            lastError: n[8] % 2 == 0 ? nil : Self.text(n[8], length: 40), failedNightsInARow: n[9] % 3 == 0 ? nil : Int(n[9] % 60))
    }

    @Test("alert.raised, alert.updated, alert.resolved and rule.fired, any field values, with and without the optional ones")
    func publishedPerFailure() async throws {
        await propertyCheck(count: 300, input: Gen.int64().array(of: 12...12)) { n in
            let alert = Self.snapshot(n)
            let fired = Self.ruleFired(n)
            let events: [any BusEvent & BusJSONEncodable] = [
                AlertRaised(alert: alert), AlertUpdated(alert: alert, reason: AlertUpdated.Reason.allCases[Int(n[0].magnitude % 4)]),
                AlertResolved(alert: alert, reason: Self.text(n[1], length: 12), resolvedAt: alert.lastSeenAt), fired
            ]
            for event in events {
                let expected = try Self.encoder.encode(event)
                #expect(
                    event.busJSON() == [UInt8](expected),
                    "\(String(decoding: expected, as: UTF8.self))\n\(String(decoding: event.busJSON(), as: UTF8.self))")
            }
        }
    }
}
