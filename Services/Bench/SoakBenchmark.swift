import ArgumentParser
import Foundation
import GRDB

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#endif

/// `vectis-bench soak`: the whole system as processes, fed at a steady rate by the Datto sandbox running on
/// a fast clock, for minutes; prints each service's resident memory and CPU at the start and every minute,
/// and at the end whether every run the sandbox showed was recorded.
struct SoakBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Run bus + sandbox + the five services at a steady rate; report RSS per service over time.")

    @Option(help: "How long to run after the first sync.") var minutes = 10.0
    @Option var devices = 200
    @Option var agentsPerDevice = 10
    @Option(help: "Hours between one agent's backups in the sandbox; with --speed 60 an hour passes each real minute.")
    var cadenceHours = 1.0
    @Option(help: "Sandbox seconds per real second.") var speed = 60.0
    @Option(help: "Seconds between the collector's polls.") var pollSeconds = 5
    @Option(help: "Seconds between report lines.") var reportEvery = 60.0

    func run() async throws {
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-soak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        var ports: [String: Int] = [:]
        for name in ["publish", "subscribe", "tap", "bus", "datto", "collector", "assets", "backups", "alerts", "rules"] {
            ports[name] = try Self.freePort()
        }
        let bus = ["publish", "subscribe"].map { "tcp://127.0.0.1:\(ports[$0]!)" }
        let token = "soak-token"
        let common = [
            "VECTIS_BUS_PUBLISH": bus[0], "VECTIS_BUS_SUBSCRIBE": bus[1], "VECTIS_DATA_DIR": state.path, "VECTIS_ADMIN_TOKEN": token,
            "VECTIS_LOG_LEVEL": "warning", "VECTIS_DATTO_BASE_URL_US": "http://127.0.0.1:\(ports["datto"]!)/v1",
            "VECTIS_DATTO_POLL_INTERVAL_SECONDS": "\(pollSeconds)", "VECTIS_DATTO_REQUESTS_PER_MINUTE": "100000",
        ]
        var children: [(name: String, process: Process)] = []
        func start(_ name: String, _ executable: String, _ arguments: [String] = [], port: Int? = nil, extra: [String: String] = [:]) throws {
            let process = Process()
            process.executableURL = binaries.appendingPathComponent(executable)
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment.merging(common) { _, new in new }.merging(extra) { _, new in new }
            if let port { environment["VECTIS_HTTP_PORT"] = "\(port)" }
            process.environment = environment
            let log = state.appendingPathComponent("\(name).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: log)
            process.standardError = process.standardOutput
            try process.run()
            children.append((name, process))
        }
        defer {
            for child in children { kill(child.process.processIdentifier, SIGTERM) }
            for child in children { child.process.waitUntilExit() }
        }

        try start("bus", "vectis-bus", port: ports["bus"], extra: [
            "VECTIS_BUS_PUBLISH_BIND": bus[0], "VECTIS_BUS_SUBSCRIBE_BIND": bus[1], "VECTIS_BUS_TAP_BIND": "tcp://127.0.0.1:\(ports["tap"]!)",
        ])
        try start("sandbox", "vectis-sandbox", [
            "datto", "--port", "\(ports["datto"]!)", "--customers", "\(max(1, devices / 10))", "--devices-per-customer", "\(min(10, devices))",
            "--agents-per-device", "\(agentsPerDevice)", "--shares-per-device", "0", "--failing-agents", "\(devices * agentsPerDevice / 20)",
            "--cadence-hours", "\(cadenceHours)", "--real-time", "--speed", "\(speed)",
        ])
        for service in ["collector", "assets", "backups", "alerts", "rules"] {
            try start(service, "vectis-\(service)", port: ports[service])
        }
        for service in ["bus", "collector", "assets", "backups", "alerts", "rules"] {
            try await Self.waitFor("http://127.0.0.1:\(ports[service]!)/readyz", seconds: 60)
        }
        let collector = "http://127.0.0.1:\(ports["collector"]!)"
        _ = try await Self.send("PUT", collector + "/v1/integrations/datto", token: token, body: [
            "publicKey": "sandbox-public-key", "secretKey": "sandbox-secret-7c4f1e9a2b", "region": "us",
        ])
        // Agents start at random minutes, so their runs spread evenly over each cadence: a steady rate.
        let runsPerSecond = Double(devices * agentsPerDevice) * speed / (cadenceHours * 3_600)
        print("soak: \(devices) devices × \(agentsPerDevice) agents, sandbox at ×\(Int(speed)) → \(String(format: "%.1f", runsPerSecond)) new runs/s, "
            + "polled every \(pollSeconds) s, for \(minutes) min; logs in \(state.path)")

        let database = try DatabaseQueue(path: state.appendingPathComponent("backups.sqlite").path)
        func recorded() async throws -> Int {
            try await database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM backup_jobs") ?? 0 }
        }
        // The first sync's history (10 runs per agent) lands before the clock starts.
        let firstSync = ContinuousClock.now
        while try await recorded() < devices * agentsPerDevice * 9 {
            guard ContinuousClock.now - firstSync < .seconds(600) else { throw ValidationError("the first sync did not land in 10 minutes") }
            try await Task.sleep(for: .seconds(1))
        }
        let services = children.filter { $0.name != "sandbox" }
        let startMemory = services.map { ($0.name, Self.residentKiB($0.process.processIdentifier)) }
        print(String(format: "first sync recorded in %.1f s; resident memory at start:", Double(firstSync.duration(to: .now).components.seconds)))
        print("  " + startMemory.map { "\($0.0) \($0.1 / 1_024) MiB" }.joined(separator: "  "))

        let started = ContinuousClock.now
        var lastCount = try await recorded()
        var lastTime = started
        while started.duration(to: .now) < .milliseconds(Int(minutes * 60_000)) {
            try await Task.sleep(for: .milliseconds(Int(reportEvery * 1_000)))
            let count = try await recorded()
            let now = ContinuousClock.now
            let seconds = Double(lastTime.duration(to: now).components.seconds)
            var line = String(format: "%6.1f min  %8d runs  %6.1f runs/s  RSS MiB:", Double(started.duration(to: now).components.seconds) / 60,
                              count, Double(count - lastCount) / max(1, seconds))
            for service in services { line += " \(service.name) \(Self.residentKiB(service.process.processIdentifier) / 1_024)" }
            var depth = 0.0
            for service in ["collector", "backups", "alerts", "rules"] {
                depth += await Self.gauge("http://127.0.0.1:\(ports[service]!)/metrics", "vectis_bus_outbox_depth")
            }
            print(line + "  unsent outbox rows \(Int(depth))")
            lastCount = count
            lastTime = now
        }

        print("resident memory, start → end (CPU seconds used):")
        for (service, (name, before)) in zip(services, startMemory) {
            let after = Self.residentKiB(service.process.processIdentifier)
            print("  " + name.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%5d → %5d MiB  (%+d MiB)  cpu %.1f s", before / 1_024, after / 1_024, (after - before) / 1_024,
                         Self.cpuSeconds(service.process.processIdentifier)))
        }
        // Every run the sandbox shows now must be recorded once the pipeline has caught up.
        let truth = try await Self.send("GET", "http://127.0.0.1:\(ports["datto"]!)/_sandbox/truth", token: nil)
        let shown = (truth["runs"] as? [[String: Any]] ?? []).count
        print("sandbox shows \(shown) runs now (its 10-run window per agent); recorded in total \(try await recorded())")
    }

    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    static func cpuSeconds(_ pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 13 else { return 0 }
        return ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / 100  // clock ticks at USER_HZ = 100
    }

    static func gauge(_ url: String, _ name: String) async -> Double {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: url)!) else { return 0 }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix(name) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    static func waitFor(_ url: String, seconds: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: url)!),
                (response as? HTTPURLResponse)?.statusCode == 200
            { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ValidationError("\(url) did not become ready in \(seconds) s")
    }

    @discardableResult
    static func send(_ method: String, _ url: String, token: String?, body: [String: Any]? = nil) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ValidationError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
