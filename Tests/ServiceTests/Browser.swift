import Foundation
import Testing
import VectisTestSupport

#if canImport(Glibc)
    import Glibc
#endif

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Real headless Chromium (Debian's `chromium` + `chromium-driver`), driven over the W3C WebDriver protocol —
/// the protocol Selenium speaks — straight from Swift, so browser tests run in the same process as the
/// sandboxes and services they look at.
final class Browser: @unchecked Sendable {
    let driver: RunningProcess
    let base: String
    let session: String
    /// Screenshots go here (`.build/console-screenshots`, a CI artifact; not committed).
    let screenshots: URL

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    }

    init(width: Int = 1280, height: Int = 900) async throws {
        let port = try freePort()
        driver = try RunningProcess("/usr/bin/chromedriver", ["--port=\(port)"])
        base = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await Self.call("GET", "http://127.0.0.1:\(port)/status"))?["value"] != nil
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard ready else { throw ProcessFailure("chromedriver did not start: \(driver.stdout) \(driver.stderr)") }
        let created = try await Self.call(
            "POST", base + "/session",
            [
                "capabilities": [
                    "alwaysMatch": [
                        "browserName": "chrome",
                        "goog:chromeOptions": [
                            "binary": "/usr/bin/chromium",
                            "args": [
                                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--window-size=\(width),\(height)"
                            ]
                        ]
                    ]
                ]
            ])
        guard let session = (created["value"] as? [String: Any])?["sessionId"] as? String else {
            throw ProcessFailure("chromium did not start: \(created)")
        }
        self.session = session
        screenshots = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/console-screenshots")
        try FileManager.default.createDirectory(at: screenshots, withIntermediateDirectories: true)
    }

    func close() async {
        _ = try? await Self.call("DELETE", base + "/session/\(session)")
        driver.signal(SIGTERM)
        _ = await driver.waitForExit(timeout: .seconds(5))
    }

    func open(_ url: String) async throws { _ = try await command("POST", "url", ["url": url]) }

    func resize(width: Int, height: Int) async throws {
        _ = try await command("POST", "window/rect", ["width": width, "height": height])
    }

    /// The first element matching `css`, waiting for it to appear.
    func element(_ css: String, timeout: Duration = .seconds(15)) async throws -> Element {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let found = try? await command("POST", "element", ["using": "css selector", "value": css]),
                let reference = (found["value"] as? [String: Any])?.values.first as? String
            {
                return Element(browser: self, id: reference)
            }
            guard ContinuousClock.now < deadline else { throw ProcessFailure("no element \(css) within \(timeout)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func elements(_ css: String) async throws -> [Element] {
        let found = try await command("POST", "elements", ["using": "css selector", "value": css])
        return (found["value"] as? [[String: Any]] ?? []).compactMap { $0.values.first as? String }.map { Element(browser: self, id: $0) }
    }

    /// Polls until the text of `css` satisfies `condition`; returns the last text seen.
    @discardableResult
    /// An attribute of the first element matching `css`, once `condition` holds (or the last value seen).
    func waitForAttribute(_ css: String, _ name: String, timeout: Duration = .seconds(20), _ condition: (String) -> Bool) async throws
        -> String
    {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            let script = "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null"
            if let value = try? await execute(script, [css, name]) as? String {
                last = value
                if condition(value) { return value }
            }
            try await Task.sleep(for: .milliseconds(150))
        }
        return last
    }

    func waitForText(_ css: String, timeout: Duration = .seconds(20), _ condition: (String) -> Bool) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        var last = ""
        while ContinuousClock.now < deadline {
            if let element = try? await element(css, timeout: .milliseconds(200)), let text = try? await element.text() {
                last = text
                if condition(text) { return text }
            }
            try await Task.sleep(for: .milliseconds(150))
        }
        return last
    }

    func execute(_ script: String, _ arguments: [Any] = []) async throws -> Any? {
        try await command("POST", "execute/sync", ["script": script, "args": arguments])["value"]
    }

    func screenshot(_ name: String) async throws {
        let shot = try await command("GET", "screenshot")
        guard let base64 = shot["value"] as? String, let data = Data(base64Encoded: base64) else { return }
        try data.write(to: screenshots.appendingPathComponent("\(name).png"))
    }

    struct Element {
        let browser: Browser
        let id: String
        func click() async throws { _ = try await browser.command("POST", "element/\(id)/click", [:]) }
        func clear() async throws { _ = try await browser.command("POST", "element/\(id)/clear", [:]) }
        func type(_ text: String) async throws { _ = try await browser.command("POST", "element/\(id)/value", ["text": text]) }
        func text() async throws -> String { try await browser.command("GET", "element/\(id)/text")["value"] as? String ?? "" }
        func attribute(_ name: String) async throws -> String? {
            try await browser.command("GET", "element/\(id)/attribute/\(name)")["value"] as? String
        }
        /// Chooses the option whose text starts with `name` in a <select>, as a person picking it would; returns its value.
        func choose(_ name: String) async throws -> String {
            let script = """
                const select = arguments[0];
                const option = [...select.options].find((o) => o.text.startsWith(arguments[1]));
                if (!option) return null;
                select.value = option.value;
                select.dispatchEvent(new Event('change'));
                return option.value;
                """
            let value = try await browser.execute(script, [["element-6066-11e4-a52e-4f735466cecf": id], name]) as? String
            guard let value else { throw ProcessFailure("no option named \(name)") }
            return value
        }
        func select(_ value: String) async throws {
            _ = try await browser.execute(
                "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'));",
                [["element-6066-11e4-a52e-4f735466cecf": id], value])
        }
    }

    func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let answer = try await Self.call(method, base + "/session/\(session)/\(path)", body)
        if let error = (answer["value"] as? [String: Any])?["error"] as? String {
            throw ProcessFailure("WebDriver \(path): \(error)")
        }
        return answer
    }

    /// chromedriver's answers trip FoundationNetworking ("Failed writing header"), so WebDriver calls go over a
    /// plain loopback socket: HTTP/1.1 with `Connection: close`, read to the end.
    static func call(_ method: String, _ url: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let target = URL(string: url)!
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let data = try await Task.detached { try loopback(method, port: target.port ?? 80, path: target.path, body: payload) }.value
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }

    static func loopback(_ method: String, port: Int, path: String, body: Data) throws -> Data {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessFailure("socket failed") }
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connectLoopback(fd, port: port) else { throw ProcessFailure("cannot connect to 127.0.0.1:\(port)") }
        var request = Data("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n".utf8)
        request += Data("Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        try request.withUnsafeBytes { bytes in
            var sent = 0
            while sent < bytes.count {
                let wrote = send(fd, bytes.baseAddress! + sent, bytes.count - sent, 0)
                guard wrote > 0 else { throw ProcessFailure("send failed") }
                sent += wrote
            }
        }
        // Read until the body is complete (chromedriver keeps the connection open whatever we ask).
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            if let end = response.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: response[..<end.lowerBound], as: UTF8.self).lowercased()
                let content = Data(response[end.upperBound...])
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                    let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                {
                    if content.count >= length { return content.prefix(length) }
                } else if head.contains("transfer-encoding: chunked") {
                    if content.range(of: Data("\r\n0\r\n\r\n".utf8)) != nil || content.starts(with: Data("0\r\n\r\n".utf8)) {
                        return dechunk(content)
                    }
                }
            }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            response.append(buffer, count: count)
        }
        guard let end = response.range(of: Data("\r\n\r\n".utf8)) else { throw ProcessFailure("no HTTP answer") }
        return Data(response[end.upperBound...])
    }

    static func dechunk(_ data: Data) -> Data {
        var output = Data()
        var rest = data[...]
        while let line = rest.range(of: Data("\r\n".utf8)) {
            let size = Int(String(decoding: rest[..<line.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            guard size > 0 else { break }
            let start = line.upperBound
            output.append(rest[start..<start + size])
            rest = rest[(start + size + 2)...]
        }
        return output
    }
}
