import ArgumentParser
import Foundation
import VectisBus

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The system's executables (from the folder `vectis-bench` runs from) as processes on free loopback ports,
/// sharing one data directory: what the soak, pipeline and memory benchmarks measure.
final class SystemProcesses {
    /// The folder the services' executables are started from: `vectis-bench`'s own unless given (`memory
    /// --binaries .build/dist/bin` measures the image's executables, built with the Swift runtime linked in).
    let binaries: URL
    let state = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-bench-\(UUID().uuidString)")
    let token = "bench-admin-token-0123456789"
    private(set) var ports: [String: Int] = [:]
    private(set) var children: [(name: String, process: Process)] = []
    private var environment: [String: String] = [:]

    var busPublish: String { "tcp://127.0.0.1:\(ports["publish"]!)" }

    /// The bus's key folder: the bench's own parts connect as an allow-listed identity, as the services do.
    var busKeys: BusKeyDirectory { BusKeyDirectory(path: state.appendingPathComponent("bus-keys").path) }

    /// How a bench part connects to the system's bus as `identity` (CURVE, with that identity's keys).
    func busConfiguration(as identity: String) throws -> BusConfiguration {
        var configuration = BusConfiguration(publishEndpoint: busPublish, subscribeEndpoint: busSubscribe)
        configuration.curve = try busKeys.clientKeys(identity: identity)
        return configuration
    }
    var busSubscribe: String { "tcp://127.0.0.1:\(ports["subscribe"]!)" }
    func url(_ name: String) -> String { "http://127.0.0.1:\(ports[name]!)" }

    /// Starts `vectis-bus`, then each named service, and waits until all answer /readyz.
    init(services: [String], environment extra: [String: String] = [:], sandbox: [String]? = nil, binaries: String? = nil) async throws {
        self.binaries =
            binaries.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        for name in ["publish", "subscribe", "tap", "bus", "datto", "collector", "assets", "backups", "alerts", "rules"] {
            ports[name] = try Self.freePort()
        }
        // The bus runs as in production: CURVE, a key per service, ownership enforced.
        let keys = state.appendingPathComponent("bus-keys").path
        try BusKeyDirectory.create(at: keys)
        environment = [
            "VECTIS_BUS_KEY_DIR": keys, "VECTIS_BUS_INSECURE": "0",
            "VECTIS_BUS_PUBLISH": busPublish, "VECTIS_BUS_SUBSCRIBE": busSubscribe, "VECTIS_DATA_DIR": state.path,
            "VECTIS_ADMIN_TOKEN": token, "VECTIS_LOG_LEVEL": "warning",
            "VECTIS_DATTO_BASE_URL_US": "\(url("datto"))/v1"
        ].merging(extra) { _, new in new }
        // A system that does not come up is stopped, and its folder kept: the services' logs say why.
        do {
            try start(
                "bus", "vectis-bus",
                extra: [
                    "VECTIS_BUS_PUBLISH_BIND": busPublish, "VECTIS_BUS_SUBSCRIBE_BIND": busSubscribe,
                    "VECTIS_BUS_TAP_BIND": "tcp://127.0.0.1:\(ports["tap"]!)"
                ])
            if let sandbox { try start("sandbox", "vectis-sandbox", ["datto", "--port", "\(ports["datto"]!)"] + sandbox) }
            for service in services { try start(service, "vectis-\(service)") }
            for name in ["bus"] + services { try await Self.waitFor(url(name) + "/readyz", seconds: 60) }
        } catch {
            stop(keep: true)
            throw error
        }
    }

    private func start(_ name: String, _ executable: String, _ arguments: [String] = [], extra: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = binaries.appendingPathComponent(executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.merging(self.environment) { _, new in new }
            .merging(extra) { _, new in new }
        environment["VECTIS_HTTP_PORT"] = "\(ports[name] ?? 0)"
        process.environment = environment
        let log = state.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        children.append((name, process))
    }

    /// The services (not the sandbox) with their pids.
    var services: [(name: String, process: Process)] { children.filter { $0.name != "sandbox" } }

    /// Stops every process and removes the data directory (a pipeline run leaves hundreds of MiB there);
    /// `VECTIS_BENCH_KEEP=1` (or `keep`) keeps it, with the services' logs, and prints where.
    func stop(keep: Bool = false) {
        for child in children { kill(child.process.processIdentifier, SIGTERM) }
        for child in children { child.process.waitUntilExit() }
        if keep || ProcessInfo.processInfo.environment["VECTIS_BENCH_KEEP"] == "1" {
            print("kept \(state.path) with the services' logs")
            return
        }
        do { try FileManager.default.removeItem(at: state) } catch { print("warning: \(state.path) not removed: \(error)") }
    }

    /// `bus 12 MiB  backups 20 MiB …`
    func memoryLine() -> String {
        services.map { "\($0.name) \(Self.residentKiB($0.process.processIdentifier) / 1_024) MiB" }.joined(separator: "  ")
    }

    /// `bus 7  backups 9 …`: the part of each resident figure that is the process's own (anonymous) memory, the rest
    /// being code and data pages mapped from files and shared with every process mapping them.
    func privateMemoryLine() -> String {
        services.map { "\($0.name) \(Self.residentKiB($0.process.processIdentifier, field: "RssAnon") / 1_024)" }.joined(separator: "  ")
    }

    static func residentKiB(_ pid: Int32, field: String = "VmRSS") -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    static func cpuSeconds(_ pid: Int32) -> Double {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        guard fields.count > 13 else { return 0 }
        return ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / 100  // clock ticks at USER_HZ = 100
    }

    /// The sum of a metric's samples on a /metrics page (0 when it cannot be read).
    static func metric(_ url: String, _ name: String) async -> Double {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: url + "/metrics")!) else { return 0 }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    static func waitFor(_ url: String, seconds: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: url)!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ValidationError("\(url) did not become ready in \(seconds) s")
    }

    @discardableResult
    func send(_ method: String, _ url: String, body: [String: Any]? = nil) async throws -> (status: Int, json: [String: Any]) {
        try await Self.send(method, url, token: token, body: body)
    }

    /// One JSON request with a bearer token; the status and the body as JSON (empty when it is not an object).
    static func send(
        _ method: String, _ url: String, token: String, body: [String: Any]? = nil
    ) async throws -> (status: Int, json: [String: Any]) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
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
