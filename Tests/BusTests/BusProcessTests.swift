import Foundation
import Testing
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The foundation's acceptance tests: real `vectis-bus`, `vectis`, `vectis-probe` and Python processes.
@Suite("vectis-bus as a process", .serialized)
struct BusProcessTests {
    @Test("two subscriber processes and vectis tap each receive all 10,000 typed events, in order")
    func tenThousandEventsToEveryone() async throws {
        let bus = try await BusProcess.start()
        let count = 10_000
        let subscribers = try (0..<2).map { _ in
            try RunningProcess(
                "vectis-probe",
                ["subscribe", "--topic", "backup.run.observed", "--count", "\(count)"] + bus.endpointArguments)
        }
        for subscriber in subscribers { try await subscriber.waitForOutput("ready") }
        let tap = try RunningProcess(
            "vectis",
            ["tap", "--json", "--count", "\(count)", "--endpoint", bus.tap] + bus.endpointArguments)
        try await tap.waitForOutput("vectis tap: listening")

        let publisher = try RunningProcess("vectis-probe", ["publish", "--count", "\(count)"] + bus.endpointArguments)
        #expect(await publisher.waitForExit() == 0)

        let expected = (1...count).map { "probe/publisher \($0) backup.run.observed" }
        for subscriber in subscribers {
            #expect(await subscriber.waitForExit() == 0)
            let lines = subscriber.stdout.split(separator: "\n").map(String.init).filter { $0 != "ready" }
            #expect(lines.count == count)
            #expect(lines == expected)
        }

        #expect(await tap.waitForExit() == 0)
        let tapLines = tap.stdout.split(separator: "\n")
        #expect(tapLines.count == count)
        let seqs = tapLines.compactMap { line -> Int? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            guard object?["topic"] as? String == "backup.run.observed" else { return nil }
            return object?["seq"] as? Int
        }
        #expect(seqs == Array(1...count))

        // The proxy's STATISTICS reached /metrics (libzmq counts a multipart message once).
        var forwarded = 0
        for _ in 0..<50 {
            let metrics = try await bus.get("/metrics").body
            forwarded =
                metrics.split(separator: "\n")
                .first { $0.hasPrefix("vectis_bus_forward_messages_total ") }
                .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            if forwarded >= count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(forwarded >= count)
        let health = try await bus.get("/healthz")
        #expect(health.status == 200)
        let ready = try await bus.get("/readyz")
        #expect(ready.status == 200 && ready.body.contains(#""proxy":true"#))
        bus.process.signal(SIGTERM)
        #expect(await bus.process.waitForExit(timeout: .seconds(5)) == 0)
    }

    @Test("vectis-bus exits cleanly within 2 s of SIGTERM while publishers are still sending")
    func sigtermUnderLoad() async throws {
        let bus = try await BusProcess.start()
        let listener = try RunningProcess(
            "vectis-probe", ["subscribe", "--topic", "backup.run.", "--count", "100000000"] + bus.endpointArguments)
        try await listener.waitForOutput("ready")
        let publishers = try (0..<2).map { index in
            try RunningProcess(
                "vectis-probe",
                ["publish", "--count", "100000000", "--stream", "flood/\(index)"] + bus.endpointArguments)
        }
        // Let the flood reach the bus.
        try await Task.sleep(for: .milliseconds(700))
        for publisher in publishers { #expect(publisher.isRunning) }
        let started = ContinuousClock.now
        bus.process.signal(SIGTERM)
        let status = await bus.process.waitForExit(timeout: .seconds(10))
        let elapsed = ContinuousClock.now - started
        #expect(status == 0)
        #expect(elapsed < .seconds(2), "took \(elapsed)")
        for process in publishers + [listener] { process.signal(SIGKILL) }
    }

    @Test("a Python pyzmq subscriber reads the three frames and parses header and body as JSON")
    func pythonPeer() async throws {
        let bus = try await BusProcess.start()
        let script = """
            import json, sys, uuid, zmq
            ctx = zmq.Context()
            sub = ctx.socket(zmq.SUB)
            sub.connect(sys.argv[2])
            sub.setsockopt_string(zmq.SUBSCRIBE, "backup.run.observed")
            # Readiness, as docs/bus.md describes: echo a probe through the bus.
            probe = "bus.probe." + str(uuid.uuid4())
            sub.setsockopt_string(zmq.SUBSCRIBE, probe)
            pub = ctx.socket(zmq.PUB)
            pub.connect(sys.argv[1])
            header = json.dumps({"schemaVersion": 1, "messageId": str(uuid.uuid4()), "stream": probe, "seq": 0,
                                 "timestamp": "2026-01-01T00:00:00Z", "tenant": "default"})
            while True:
                pub.send_multipart([probe.encode(), header.encode(), b"{}"])
                if sub.poll(50):
                    frames = sub.recv_multipart()
                    if frames[0] == probe.encode():
                        break
            print("ready", flush=True)
            while True:
                frames = sub.recv_multipart()
                if frames[0] == b"backup.run.observed":
                    break
            print(json.dumps({"frames": len(frames), "topic": frames[0].decode(),
                              "header": json.loads(frames[1]), "body": json.loads(frames[2])}), flush=True)
            """
        let python = try RunningProcess("/usr/bin/env", ["python3", "-c", script, bus.publish, bus.subscribe])
        do {
            try await python.waitForOutput("ready", timeout: .seconds(20))
        } catch {
            Issue.record("the Python peer did not start (is pyzmq installed? `pip install pyzmq`): \(python.stderr)")
            return
        }
        let publisher = try RunningProcess("vectis-probe", ["publish", "--count", "3"] + bus.endpointArguments)
        #expect(await publisher.waitForExit() == 0)
        #expect(await python.waitForExit(timeout: .seconds(10)) == 0)
        let line = try #require(python.stdout.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["frames"] as? Int == 3)
        #expect(object["topic"] as? String == "backup.run.observed")
        let header = try #require(object["header"] as? [String: Any])
        #expect(header["stream"] as? String == "probe/publisher")
        #expect(header["seq"] as? Int == 1)
        #expect(header["schemaVersion"] as? Int == 1)
        let body = try #require(object["body"] as? [String: Any])
        #expect(body["agentVolume"] as? String == "volume-0")
        #expect(body["rawStatus"] as? String == "success")
        bus.process.signal(SIGTERM)
        _ = await bus.process.waitForExit()
    }
}
