import Foundation

/// Prints an HTML page to PDF with headless Chromium (`--print-to-pdf`), when Chromium is installed: the one
/// renderer that prints the report exactly as a browser shows it. Nothing is fetched: the page is self-contained.
public struct ChromiumPDF: Sendable {
    /// The Chromium executable.
    public var executable: String
    /// A PDF larger than this is refused (a report is a few hundred kilobytes).
    public static let maxBytes = 50 << 20

    /// Chromium from `VECTIS_CHROMIUM`, else the first of chromium, chromium-browser, google-chrome on `PATH`; nil
    /// when none is installed.
    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) -> ChromiumPDF? {
        if let configured = environment["VECTIS_CHROMIUM"], !configured.isEmpty {
            return FileManager.default.isExecutableFile(atPath: configured) ? ChromiumPDF(executable: configured) : nil
        }
        let directories = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                return ChromiumPDF(executable: directory + "/" + name)
            }
        }
        return nil
    }

    /// What to say when no Chromium is found.
    public static let missing =
        "Making a PDF needs headless Chromium (chromium, chromium-browser or google-chrome on PATH, or VECTIS_CHROMIUM), and none is installed here."

    public init(executable: String) {
        self.executable = executable
    }

    /// The PDF of `html`, printed within `timeout`.
    public func pdf(html: String, timeout: Duration = .seconds(60)) async throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vectis-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        let output = directory.appendingPathComponent("report.pdf")
        try Data(html.utf8).write(to: page)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        // --no-sandbox: Chromium refuses to run as root (containers) otherwise; the page is ours and fetches nothing.
        process.arguments = [
            "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions", "--no-pdf-header-footer",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)", "--print-to-pdf=\(output.path)", page.absoluteString
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw ReportError("Chromium did not print the report within \(timeout.components.seconds) s.")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: output.path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        guard process.terminationStatus == 0, size > 0, size <= Self.maxBytes else {
            throw ReportError("Chromium could not print the report (exit \(process.terminationStatus)).")
        }
        let data = try Data(contentsOf: output)
        guard data.starts(with: Data("%PDF-".utf8)) else { throw ReportError("Chromium's output is not a PDF.") }
        return data
    }
}
