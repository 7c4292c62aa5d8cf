import Foundation
import VectisReport
import VectisRuntime

/// What `vectis-console` reads from the environment: its port, where each service answers, and where the
/// console's own files are.
public struct ConsoleConfiguration: Sendable {
    public var runtime: RuntimeConfiguration
    /// Each service's base URL by the name the browser uses in `/api/<name>/…`.
    public var upstreams: [String: URL]
    /// The HTML, CSS and JavaScript served at `/`; the files bundled with the executable by default.
    public var webDirectory: String
    public var timeout: Duration
    /// Who the monthly reports are from (`VECTIS_REPORT_MSP_NAME`, `VECTIS_REPORT_LOGO`).
    public var branding = CustomerReport.Branding(mspName: "Your managed service provider")
    /// Headless Chromium for report PDFs (`VECTIS_CHROMIUM`, else found on PATH); nil: HTML reports only.
    public var chromium: ChromiumPDF? = ChromiumPDF.find()

    public static let services = ["collector": 8081, "assets": 8082, "backups": 8083, "alerts": 8084, "rules": 8085]

    public init(runtime: RuntimeConfiguration, upstreams: [String: URL], webDirectory: String? = nil, timeout: Duration = .seconds(30)) {
        self.runtime = runtime
        self.upstreams = upstreams
        self.webDirectory = webDirectory ?? Self.bundledWebDirectory
        self.timeout = timeout
    }

    /// Reads `VECTIS_HTTP_PORT` (default 8090), each `VECTIS_<SERVICE>_URL` as the CLI reads them (default
    /// `http://127.0.0.1:<the service's port>`) and `VECTIS_CONSOLE_WEB_DIR`.
    public init(environment env: Environment) throws {
        let runtime = try RuntimeConfiguration(service: "console", defaultHTTPPort: 8090, environment: env, usesBus: false)
        var upstreams: [String: URL] = [:]
        for (name, port) in Self.services {
            let variable = "VECTIS_\(name.uppercased())_URL"
            let text = env.string(variable, default: "http://127.0.0.1:\(port)")
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigurationError(variable: variable, value: text, expected: "the service's base URL, e.g. http://127.0.0.1:\(port)")
            }
            upstreams[name] = url
        }
        self.init(runtime: runtime, upstreams: upstreams, webDirectory: env["VECTIS_CONSOLE_WEB_DIR"])
        do {
            branding = try CustomerReport.Branding.load(
                mspName: env.string("VECTIS_REPORT_MSP_NAME", default: branding.mspName), logoPath: env["VECTIS_REPORT_LOGO"])
        } catch let error as ReportError {
            throw ConfigurationError(variable: "VECTIS_REPORT_LOGO", value: env["VECTIS_REPORT_LOGO"] ?? "", expected: error.description)
        }
    }

    static var bundledWebDirectory: String {
        Bundle.module.bundleURL.appendingPathComponent("Web").path
    }
}
