import Foundation
import Testing
import VectisBus
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `vectis-bus` as a process with its default security (CURVE, an allow-list with identities), attacked by
/// Python peers written with pyzmq: without a key, with a wrong key, and with a valid key used abusively.
@Suite("The bus under attack from other processes", .serialized)
struct BusSecurityProcessTests {
    /// A bus process on CURVE with a fresh key folder.
    static func secureBus() async throws -> (bus: BusProcess, keys: String) {
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-keys-\(UUID().uuidString)").path
        try BusKeyDirectory.create(at: keys)
        let bus = try await BusProcess.start(environment: ["VECTIS_BUS_INSECURE": "0", "VECTIS_BUS_KEY_DIR": keys])
        return (bus, keys)
    }

    /// Resident memory of a process, in bytes.
    static func rss(_ pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").compactMap({ Int($0) }).first
        else { return 0 }
        return kilobytes * 1024
    }

    /// Shared helpers for the Python peers: `peer(kind, key)` makes a socket with no key, a random key or a key
    /// file's key; `ready(...)` proves a subscription is in place with a probe.
    static let prelude = """
        import json, os, sys, time, uuid, zmq
        ctx = zmq.Context()
        publish, subscribe, tap, keys = sys.argv[1:5]
        server = open(os.path.join(keys, "bus.public")).read().strip().encode()
        def key(kind):
            if kind == "none": return None
            if kind == "stranger": return zmq.curve_keypair()
            secret = open(os.path.join(keys, kind + ".secret")).read().strip().encode()
            return (zmq.curve_public(secret), secret)
        def peer(type_, kind, endpoint):
            s = ctx.socket(type_)
            s.setsockopt(zmq.LINGER, 0)
            pair = key(kind)
            if pair:
                s.curve_serverkey = server
                s.curve_publickey, s.curve_secretkey = pair
            s.connect(endpoint)
            return s
        def header(stream, seq=1):
            return json.dumps({"schemaVersion": 1, "messageId": str(uuid.uuid4()), "stream": stream, "seq": seq,
                               "timestamp": "2026-11-29T04:03:57.123Z", "tenant": "default"}).encode()
        def ready(sub, pub, timeout=5.0):
            probe = "bus.probe." + str(uuid.uuid4())
            sub.setsockopt_string(zmq.SUBSCRIBE, probe)
            deadline = time.time() + timeout
            while time.time() < deadline:
                pub.send_multipart([probe.encode(), header(probe, 0), b"{}"])
                if sub.poll(50):
                    if sub.recv_multipart()[0] == probe.encode():
                        return True
            return False
        def count(sub, seconds):
            n, deadline = 0, time.time() + seconds
            while time.time() < deadline:
                if sub.poll(50):
                    sub.recv_multipart(); n += 1
            return n
        job = json.dumps({"jobId": 424242, "deviceSerial": "A1B2C3D4E5F6", "agentVolume": "vol-1", "agentName": "ACME-DC01",
                          "customer": {"key": "org:1", "name": "Acme"}, "runAt": "2026-11-29T04:03:57.123Z",
                          "status": "failure", "rawStatus": "failure", "errorMessage": "forged", "night": "2026-11-28",
                          "failedNightsInARow": 5}).encode()
        """

    static func python(_ script: String, _ bus: BusProcess, _ keys: String) throws -> RunningProcess {
        try RunningProcess("/usr/bin/env", ["python3", "-c", prelude + "\n" + script, bus.publish, bus.subscribe, bus.tap, keys])
    }

    @Test("peers without a key or with a wrong key can neither publish, subscribe nor read the tap; the bus stays up")
    func keylessPeers() async throws {
        let (bus, keys) = try await Self.secureBus()
        let script = """
            # A legitimate reader (the tap's key) watches what reaches subscribers.
            reader = peer(zmq.SUB, "tap", subscribe)
            reader.setsockopt_string(zmq.SUBSCRIBE, "")
            assert ready(reader, peer(zmq.PUB, "tap", publish)), "the tap key must get through"
            results = {}
            for kind in ["none", "stranger"]:
                pub = peer(zmq.PUB, kind, publish)
                sub = peer(zmq.SUB, kind, subscribe); sub.setsockopt_string(zmq.SUBSCRIBE, "")
                tapsub = peer(zmq.SUB, kind, tap); tapsub.setsockopt_string(zmq.SUBSCRIBE, "")
                time.sleep(0.3)
                for _ in range(50):
                    pub.send_multipart([b"backup.job.recorded", header("backups/host"), job])
                    pub.send_multipart([b"bus.replay.unavailable", header("collector/host", 0),
                        json.dumps({"stream": "collector/host", "topic": "datto.agent.seen", "fromSeq": 1,
                                    "firstAvailableSeq": 9223372036854775807, "requestedBy": "alerts/host"}).encode()])
                    pub.send_multipart([b"backup.retry.requested", header("rules/host"), b"{}"])
                results[kind] = {"probe": ready(sub, pub, 2.0), "subscribed": count(sub, 1.0), "tapped": count(tapsub, 0.5)}
            results["reader"] = count(reader, 1.0)
            print(json.dumps(results), flush=True)
            """
        let peer = try Self.python(script, bus, keys)
        #expect(await peer.waitForExit(timeout: .seconds(60)) == 0, "\(peer.stderr)")
        let line = try #require(peer.stdout.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        for kind in ["none", "stranger"] {
            let outcome = try #require(result[kind] as? [String: Any])
            #expect(outcome["probe"] as? Bool == false, "\(kind): its probe never came back")
            #expect(outcome["subscribed"] as? Int == 0, "\(kind): read nothing")
            #expect(outcome["tapped"] as? Int == 0, "\(kind): the tap gave it nothing")
        }
        #expect(result["reader"] as? Int == 0, "no forged message reached a subscriber")
        #expect(bus.process.isRunning)
        let metrics = try await bus.get("/metrics")
        #expect(metrics.body.contains("vectis_bus_zap_denied_total"))
        #expect(try await bus.get("/readyz").status == 200)
        bus.process.signal(SIGTERM)
        _ = await bus.process.waitForExit()
    }

    @Test("30 KB, 60 KB and 300 KB subscriptions, 1,000 subscriptions and 8 × 12 MiB messages leave the bus up and bounded")
    func subscriptionAndSizeAbuse() async throws {
        let (bus, keys) = try await Self.secureBus()
        try await Task.sleep(for: .milliseconds(300))
        let before = Self.rss(bus.process.pid)
        let script = """
            reader = peer(zmq.SUB, "tap", subscribe)
            reader.setsockopt_string(zmq.SUBSCRIBE, "backup.")
            assert ready(reader, peer(zmq.PUB, "tap", publish))
            # Long subscriptions, each on its own connection. Kept open: libzmq removes a subscription from its trie
            # recursively, and a 300 KB one overflows the *attacker's* stack when its socket closes (the crash the
            # bus itself avoids with its 8 MiB forwarder stack and its length cap); the script ends with os._exit.
            long_ones = []
            for size in [30_000, 60_000, 300_000]:
                s = peer(zmq.SUB, "alerts", subscribe)
                s.setsockopt(zmq.SUBSCRIBE, b"x" * size)
                long_ones.append(s)
                time.sleep(0.5)
            # 1,000 subscriptions from one peer.
            many = peer(zmq.SUB, "assets", subscribe)
            for i in range(1000):
                many.setsockopt_string(zmq.SUBSCRIBE, "asset.%04d." % i + "y" * 80)
            time.sleep(1.0)
            # 8 frames of 12 MiB from a valid key.
            big = peer(zmq.PUB, "backups", publish)
            time.sleep(0.3)
            frame = b"z" * (12 << 20)
            big.send_multipart([b"backup.job.recorded"] + [frame] * 7)
            time.sleep(1.5)
            print(json.dumps({"received": count(reader, 1.0)}), flush=True)
            os._exit(0)
            """
        let peer = try Self.python(script, bus, keys)
        #expect(await peer.waitForExit(timeout: .seconds(90)) == 0, "\(peer.stderr)")
        let line = try #require(peer.stdout.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(result["received"] as? Int == 0, "the oversized message reached nobody")
        #expect(bus.process.isRunning, "the bus is still running")
        #expect(try await bus.get("/healthz").status == 200)
        let growth = Self.rss(bus.process.pid) - before
        print("bus RSS growth under subscription and size abuse: \(growth / 1024) KiB")
        #expect(growth < 100 << 20, "bus memory grew by \(growth / (1 << 20)) MiB")
        bus.process.signal(SIGTERM)
        _ = await bus.process.waitForExit()
    }
}
