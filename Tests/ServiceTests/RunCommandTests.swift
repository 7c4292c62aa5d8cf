import Foundation
import Testing
import VectisAPI
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The README's run command, as a new user runs it (after the build `make run` does first).
@Suite("The run command", .serialized)
struct RunCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ports = [5550, 5551, 5552, 8080, 8081, 8082, 8083, 8084, 8085, 9081, 9082]

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return connectLoopback(fd, port: port)
    }

    /// What a person would notice changing: the alerts (state and occurrences), Vectis's tickets and the PSA's.
    static func snapshot() async throws -> [String] {
        let token = try String(contentsOf: root.appendingPathComponent(".vectis/data/admin-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var parts: [String] = []
        for url in ["http://127.0.0.1:8084/v1/alerts", "http://127.0.0.1:8085/v1/tickets", "http://127.0.0.1:9082/_sandbox/tickets"] {
            var request = URLRequest(url: URL(string: url)!)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (data, _) = try await URLSession.shared.data(for: request)
            let object = try JSONSerialization.jsonObject(with: data)
            // Volatile fields (read times) are left out; states, counts and ids are what matter.
            parts.append(Self.stable(object))
        }
        return parts
    }

    static func stable(_ value: Any) -> String {
        switch value {
        case let object as [String: Any]:
            return "{"
                + object.keys.sorted().filter { !["generatedAt", "now", "checkedAt"].contains($0) }
                .map { "\($0):\(stable(object[$0]!))" }.joined(separator: ",") + "}"
        case let array as [Any]: return "[" + array.map(stable).joined(separator: ",") + "]"
        default: return "\(value)"
        }
    }

    static func status(_ url: String) async throws -> Int {
        let (_, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    static let keylessAttack = """
        import json, time, uuid, zmq
        ctx = zmq.Context()
        def header(stream, seq):
            return json.dumps({"schemaVersion": 1, "messageId": str(uuid.uuid4()), "stream": stream, "seq": seq,
                               "timestamp": "2026-11-30T04:03:57.123Z", "tenant": "default"}).encode()
        def job(agent, volume, status, nights):
            return json.dumps({"jobId": 990000 + nights, "deviceSerial": "ACME000001", "agentVolume": volume, "agentName": agent,
                               "customer": {"key": "org:100000", "name": "Acme Corp"}, "runAt": "2026-11-30T04:00:00.000Z",
                               "status": status, "rawStatus": status, "errorMessage": "forged <a href=x>click</a>",
                               "night": "2026-11-29", "failedNightsInARow": nights, "currentlyFailing": status == "failure"}).encode()
        pub = ctx.socket(zmq.PUB); pub.setsockopt(zmq.LINGER, 0); pub.connect("tcp://127.0.0.1:5550")
        sub = ctx.socket(zmq.SUB); sub.setsockopt(zmq.LINGER, 0); sub.connect("tcp://127.0.0.1:5551"); sub.setsockopt(zmq.SUBSCRIBE, b"")
        tap = ctx.socket(zmq.SUB); tap.setsockopt(zmq.LINGER, 0); tap.connect("tcp://127.0.0.1:5552"); tap.setsockopt(zmq.SUBSCRIBE, b"")
        time.sleep(0.5)
        for seq in range(1, 40):
            pub.send_multipart([b"backup.job.recorded@00", header("backups/host", 100000 + seq), job("ACME-SRV21", "vol-21", "failure", 3)])
            pub.send_multipart([b"backup.job.recorded@00", header("backups/host", 100000 + seq), job("ACME-SRV11", "vol-11", "success", 0)])
            pub.send_multipart([b"backup.retry.requested", header("rules/host", seq), json.dumps({"retryId": str(uuid.uuid4()),
                "deviceSerial": "ACME000001", "agentVolume": "vol-11", "agentName": "ACME-SRV11", "customer": {"key": "org:100000", "name": "Acme Corp"},
                "ruleId": "ru_1"}).encode()])
            for first in [0, 9223372036854775807, 18446744073709551615]:
                pub.send_multipart([b"bus.replay.unavailable", header("collector/host", 0), json.dumps({"stream": "collector/host",
                    "topic": "datto.agent.seen@00", "fromSeq": 1, "firstAvailableSeq": first, "requestedBy": "backups/host"}).encode()])
                pub.send_multipart([b"bus.replay.requested", header("backups/host", 0), json.dumps({"stream": "collector/host",
                    "topic": "backup.run.observed@00", "fromSeq": first, "requestedBy": "backups/host", "reason": "gap"}).encode()])
            time.sleep(0.02)
        def count(s, seconds):
            n, deadline = 0, time.time() + seconds
            while time.time() < deadline:
                if s.poll(50): s.recv_multipart(); n += 1
            return n
        print("subscribed=%d tapped=%d" % (count(sub, 1.0), count(tap, 0.5)), flush=True)
        """

    @Test("it ends in a working system showing customers, alerts and a ticket; Ctrl-C leaves nothing running")
    func runCommand() async throws {
        try #require(Self.ports.allSatisfy { !Self.listening($0) }, "the run command's ports must be free")
        let state = Self.root.appendingPathComponent(".vectis")
        try? FileManager.default.removeItem(at: state)
        // Start it as a terminal would: no signals blocked or ignored (a test runner's threads block them, and
        // children inherit that).
        let launcher = """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for number in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
                signal.signal(number, signal.SIG_DFL)
            os.execv("/bin/bash", ["bash", sys.argv[1]])
            """
        let run = try RunningProcess(
            "/usr/bin/env", ["python3", "-c", launcher, Self.root.appendingPathComponent("scripts/run-local.sh").path],
            environment: ["VECTIS_BUS_INSECURE": "0"])
        try await run.waitForOutput("Live bus traffic follows", timeout: .seconds(180))
        let output = run.stdout
        #expect(output.contains("Connected to Datto (us) — 11 BCDR devices visible"))
        #expect(output.contains("Admin token (shown once"))
        #expect(output.contains("Acme Corp      c_"), "the customer list")
        #expect(output.contains("Backups") && output.contains("10 most recent runs"), "a customer's Backups section")
        #expect(output.contains("open   high"), "the alerts raised")
        #expect(output.range(of: #"connectwise #\d+\s+open"#, options: .regularExpression) != nil, "the ticket opened")
        #expect(output.contains("CURVE-authenticated"))
        let keys = state.appendingPathComponent("data/bus-keys")
        #expect((try FileManager.default.attributesOfItem(atPath: keys.path)[.posixPermissions] as? Int) == 0o700)
        #expect(
            (try FileManager.default.attributesOfItem(atPath: keys.appendingPathComponent("rules.secret").path)[.posixPermissions] as? Int)
                == 0o600)
        let rulesSecret = try String(contentsOf: keys.appendingPathComponent("rules.secret"), encoding: .utf8)
        #expect(!output.contains(rulesSecret.trimmingCharacters(in: .whitespacesAndNewlines)), "no bus secret printed")

        // A keyless peer on the same host forges a failure for a healthy agent, a recovery for a failing one,
        // retry commands and hostile control messages. Nothing may change and nothing may die.
        let before = try await Self.snapshot()
        let attack = try RunningProcess("/usr/bin/env", ["python3", "-c", Self.keylessAttack])
        #expect(await attack.waitForExit(timeout: .seconds(60)) == 0, "\(attack.stderr)")
        #expect(attack.stdout.contains("subscribed=0 tapped=0"), "a keyless peer reads nothing: \(attack.stdout)")
        try await Task.sleep(for: .seconds(3))
        let after = try await Self.snapshot()
        #expect(after == before, "alerts, tickets and the PSA's tickets are unchanged")
        for port in [8080, 8081, 8082, 8083, 8084, 8085] {
            #expect(try await Self.status("http://127.0.0.1:\(port)/readyz") == 200, "port \(port) still ready")
        }

        run.signal(SIGINT)  // what Ctrl-C sends
        // The script gives its children 10 s after SIGTERM, then kills and names any that are still running.
        #expect(await run.waitForExit(timeout: .seconds(15)) != nil)
        for line in run.stdout.split(separator: "\n") where line.contains("did not stop") { print("run command: \(line)") }
        #expect(
            try await eventually(timeout: .seconds(10)) { Self.ports.allSatisfy { !Self.listening($0) } },
            "every process the run command started is gone")
        #expect(run.stdout.contains("stopped."))

        // A second run on the same data directory reuses the rule instead of enabling another, and says so.
        let again = try RunningProcess(
            "/usr/bin/env", ["python3", "-c", launcher, Self.root.appendingPathComponent("scripts/run-local.sh").path],
            environment: ["VECTIS_BUS_INSECURE": "0"])
        try await again.waitForOutput("Live bus traffic follows", timeout: .seconds(180))
        #expect(again.stdout.contains("Reusing ru_1 (ConnectWise) from an earlier run"), "\(again.stdout.suffix(2_000))")
        #expect(again.stdout.contains("holds an earlier run's tickets too"))
        let token = try String(contentsOf: state.appendingPathComponent("data/admin-token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:8085/v1/rules")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        let rules = try APIJSON.decode(RuleList.self, from: data).rules
        #expect(rules.count == 1, "one rule after two runs: \(rules.map(\.id))")
        again.signal(SIGINT)
        #expect(await again.waitForExit(timeout: .seconds(15)) != nil)
        #expect(try await eventually(timeout: .seconds(10)) { Self.ports.allSatisfy { !Self.listening($0) } })
        try? FileManager.default.removeItem(at: state)
    }
}
