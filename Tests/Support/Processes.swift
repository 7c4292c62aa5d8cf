import Foundation
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// The built executables (`swift build --build-tests` builds them next to the test bundle).
public enum Binaries {
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["VECTIS_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("vectis-bus").path) { return url }
        }
        return URL(fileURLWithPath: ".build/debug")
    }()

    public static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }
}

/// A child process with its output captured in files, killed if the test forgets it.
///
/// Started with `posix_spawn`, not Foundation's `Process`: on Linux `Process.run()` over-reads `/proc/self/fd`
/// entries while closing inherited descriptors and crashes the whole test process now and then (seen in CI as
/// "Bad pointer dereference" in `memcpy` under `Process.run()`; swift-corelibs-foundation PR #5472, not in the
/// toolchain here). Descriptors above 2 are closed in the child by `closefrom`, as `Process` does.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    let stdoutURL: URL
    let stderrURL: URL
    let name: String
    /// The write end of the child's standard input.
    private let input: Int32
    /// The exit status once the child has been reaped (an exit code, or the signal that ended it).
    private let exit = Mutex<Int32?>(nil)

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        name = executable
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        stdoutURL = directory.appendingPathComponent("stdout")
        stderrURL = directory.appendingPathComponent("stderr")
        let path = executable.hasPrefix("/") ? executable : Binaries.path(executable)
        // A child that has gone away must not take the test process with it when we write to its stdin.
        _ = Self.ignoreBrokenPipes

        let output = open(stdoutURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let errors = open(stderrURL.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        var pipeEnds: [Int32] = [-1, -1]
        guard output >= 0, errors >= 0, pipe(&pipeEnds) == 0 else {
            for fd in [output, errors] where fd >= 0 { close(fd) }
            throw ProcessFailure("cannot set up \(executable)'s output files or stdin: errno \(errno)")
        }
        defer {
            close(output)
            close(errors)
            close(pipeEnds[0])
        }
        // Our end must not leak into children started later (theirs close everything above 2 anyway).
        _ = fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, errors, 2)
        _ = Self.closeFrom?(&actions, 3)

        // Process tests of one part run the bus in its explicit development mode unless they say otherwise; the
        // suites about authentication (BusSecurityTests) and `make run` set VECTIS_BUS_INSECURE=0 with real keys.
        let variables = ProcessInfo.processInfo.environment.merging(
            // The sandboxes (PSA, hooks) the tests start are on loopback, which outbound calls refuse by default.
            ["VECTIS_BUS_INSECURE": "1", "VECTIS_ALLOW_PRIVATE_UPSTREAMS": "1"]) { old, _ in old }
            .merging(environment) { _, new in new }.map { "\($0.key)=\($0.value)" }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var child = pid_t()
        let status = posix_spawn(&child, path, &actions, nil, argv, envp)
        guard status == 0 else {
            close(pipeEnds[1])
            throw ProcessFailure("cannot start \(path): \(String(cString: strerror(status)))")
        }
        pid = child
        input = pipeEnds[1]
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
        close(input)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), looked up at run time: Swift's Glibc module
    /// does not export it.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
            unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        }
    }()

    private static let ignoreBrokenPipes: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// Whether the child is still running (reaps it once it has ended).
    public var isRunning: Bool {
        exit.withLock { exit in
            guard exit == nil else { return false }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return true }
            // An exit code, or (as Foundation's `terminationStatus` gives it) the signal that ended the child.
            exit = status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
            return false
        }
    }

    /// The exit status; only meaningful once `isRunning` is false.
    public var terminationStatus: Int32 { exit.withLock { $0 } ?? -1 }

    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits until standard output or error contains `text`.
    public func waitForOutput(_ text: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.contains(text) || stderr.contains(text) { return }
            if !isRunning {
                throw ProcessFailure("\(name) exited (\(terminationStatus)) before printing \"\(text)\": \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("\(name) did not print \"\(text)\" within \(timeout); stderr: \(stderr)")
    }

    /// Waits for the process to end; its exit status, or nil if it is still running at the timeout.
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return isRunning ? nil : terminationStatus
    }

    /// Writes a line to the process's standard input.
    public func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            written += count
        }
    }

    /// Waits until standard output has a line that is exactly `line`.
    public func waitForLine(_ line: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if stdout.split(separator: "\n").contains(where: { $0 == line }) { return }
            if !isRunning {
                throw ProcessFailure("\(name) exited (\(terminationStatus)) before printing \"\(line)\": \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure("\(name) did not print \"\(line)\" within \(timeout); stderr: \(stderr)")
    }

    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }
}

public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A TCP port nobody uses right now, below the kernel's ephemeral range (32768–60999 here): a port the kernel
/// handed out as "free" can be taken a moment later as the local end of an outgoing connection (the browser
/// tests make many), and the service meant to listen on it then fails to start. A random port below the range
/// is only ever taken by another test's explicit choice — and a port is handed out at most once per test process,
/// because two tests running in parallel could otherwise both find the same port free before either binds it
/// (seen in CI: one harness's collector failed to bind and its requests reached another test's server).
public func freePort() throws -> Int {
    for _ in 0..<500 {
        let port = Int.random(in: 20_000..<32_700)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        if canBind(port) { return port }
    }
    throw ProcessFailure("no free port between 20000 and 32700")
}

private let handedOutPorts = Mutex<Set<Int>>([])

private func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// A `vectis-bus` process on free loopback ports.
public struct BusProcess: Sendable {
    public let process: RunningProcess
    public let publish: String
    public let subscribe: String
    public let tap: String
    public let httpPort: Int

    public static func start(environment extra: [String: String] = [:], ports given: [Int]? = nil) async throws -> BusProcess {
        let ports = try given ?? (0..<4).map { _ in try freePort() }
        let publish = "tcp://127.0.0.1:\(ports[0])"
        let subscribe = "tcp://127.0.0.1:\(ports[1])"
        let tap = "tcp://127.0.0.1:\(ports[2])"
        let process = try RunningProcess(
            "vectis-bus", [],
            environment: [
                "VECTIS_BUS_PUBLISH_BIND": publish, "VECTIS_BUS_SUBSCRIBE_BIND": subscribe, "VECTIS_BUS_TAP_BIND": tap,
                "VECTIS_HTTP_PORT": "\(ports[3])", "VECTIS_BUS_STATISTICS_INTERVAL_MS": "100"
            ].merging(extra) { _, new in new })
        try await process.waitForOutput("Server started and listening")
        return BusProcess(process: process, publish: publish, subscribe: subscribe, tap: tap, httpPort: ports[3])
    }

    /// Starts a new bus process on the same ports (after this one was stopped).
    public func restarted(environment: [String: String] = [:]) async throws -> BusProcess {
        let ports = [publish, subscribe, tap].map { Int($0.split(separator: ":").last!)! } + [httpPort]
        return try await BusProcess.start(environment: environment, ports: ports)
    }

    public var endpointArguments: [String] {
        ["--publish-endpoint", publish, "--subscribe-endpoint", subscribe]
    }

    public func get(_ path: String) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(httpPort)\(path)")!
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

/// Connects the TCP socket `fd` to 127.0.0.1:`port`; whether it connected.
public func connectLoopback(_ fd: Int32, port: Int) -> Bool {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Waits until something accepts TCP connections on `port` (a server started in a group that is still coming up).
public func waitUntilListening(_ port: Int, timeout: Duration = .seconds(10)) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = connectLoopback(fd, port: port)
        close(fd)
        if connected { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
