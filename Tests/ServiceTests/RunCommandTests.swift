import Foundation
import Testing
import VectisTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The README's run command, as a new user runs it (after the build `make run` does first).
@Suite("The run command", .serialized)
struct RunCommandTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ports = [5550, 5551, 5552, 8080, 8081, 8082, 8083, 8084, 8085, 9081, 9082]

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

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
            "/usr/bin/env", ["python3", "-c", launcher, Self.root.appendingPathComponent("scripts/run-local.sh").path])
        try await run.waitForOutput("Live bus traffic follows", timeout: .seconds(180))
        let output = run.stdout
        #expect(output.contains("Connected to Datto (us) — 11 BCDR devices visible"))
        #expect(output.contains("Admin token (shown once"))
        #expect(output.contains("Acme Corp      c_"), "the customer list")
        #expect(output.contains("Backups") && output.contains("10 most recent runs"), "a customer's Backups section")
        #expect(output.contains("open   high"), "the alerts raised")
        #expect(output.range(of: #"connectwise #\d+\s+open"#, options: .regularExpression) != nil, "the ticket opened")

        run.signal(SIGINT)  // what Ctrl-C sends
        // The script gives its children 10 s after SIGTERM, then kills and names any that are still running.
        #expect(await run.waitForExit(timeout: .seconds(15)) != nil)
        for line in run.stdout.split(separator: "\n") where line.contains("did not stop") { print("run command: \(line)") }
        #expect(try await eventually(timeout: .seconds(10)) { Self.ports.allSatisfy { !Self.listening($0) } },
                "every process the run command started is gone")
        #expect(run.stdout.contains("stopped."))
        try? FileManager.default.removeItem(at: state)
    }
}
