import ArgumentParser
import Foundation
import VectisAPI
import VectisReport

/// `vectis report <customer> --month 2026-11`: a customer's monthly backup report, as HTML or (with Chromium) PDF;
/// `--all --out dir/` writes one per customer.
public struct ReportCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a customer's monthly backup report (HTML, or PDF through headless Chromium).",
        discussion: """
            vectis report acme --month 2026-11 --pdf acme.pdf      one customer, as PDF
            vectis report acme --month 2026-11 > acme.html        one customer, as HTML on standard output
            vectis report --all --month 2026-11 --out reports/    every customer, one PDF each (--html for HTML)
            """)

    @Argument(help: "Customer id (c_…), key or name (a unique part is enough); leave out with --all.")
    var customer: String?

    @Option(help: "The month, e.g. 2026-11.")
    var month: String

    @Flag(help: "Every customer, one file each in --out.")
    var all = false

    @Option(help: "Write a PDF here (needs headless Chromium).")
    var pdf: String?

    @Option(help: "Write the HTML here; with --all, the directory for the reports.")
    var out: String?

    @Flag(help: "With --all: HTML files instead of PDFs.")
    var html = false

    @Option(help: "The MSP's name on the report (default: VECTIS_REPORT_MSP_NAME).")
    var mspName = ProcessInfo.processInfo.environment["VECTIS_REPORT_MSP_NAME"] ?? "Your managed service provider"

    @Option(help: "A PNG, JPEG or SVG logo for the report (default: VECTIS_REPORT_LOGO).")
    var logo = ProcessInfo.processInfo.environment["VECTIS_REPORT_LOGO"]

    @Option(help: "vectis-assets URL.")
    var assetsURL = ProcessInfo.processInfo.environment["VECTIS_ASSETS_URL"] ?? "http://127.0.0.1:8082"

    @Option(help: "vectis-backups URL.")
    var backupsURL = ProcessInfo.processInfo.environment["VECTIS_BACKUPS_URL"] ?? "http://127.0.0.1:8083"

    @Option(help: "vectis-alerts URL.")
    var alertsURL = ProcessInfo.processInfo.environment["VECTIS_ALERTS_URL"] ?? "http://127.0.0.1:8084"

    @Option(help: "vectis-rules URL.")
    var rulesURL = ProcessInfo.processInfo.environment["VECTIS_RULES_URL"] ?? "http://127.0.0.1:8085"

    @Option(help: "Read-only or admin token (default: VECTIS_ADMIN_TOKEN, VECTIS_READ_TOKEN, or the local run's token files).")
    var token: String?

    public init() {}

    public func validate() throws {
        guard CustomerReport.bounds(of: month, timeZone: .gmt) != nil else { throw ValidationError("--month must be a month like 2026-11") }
        if all {
            guard customer == nil else { throw ValidationError("give a customer or --all, not both") }
            guard out != nil else { throw ValidationError("--all needs --out <directory>") }
            guard pdf == nil else { throw ValidationError("--all writes into --out; leave out --pdf") }
        } else {
            guard customer != nil else { throw ValidationError("give a customer, or --all") }
        }
    }

    /// The services' read APIs through the CLI's client.
    struct Source: ReportSource {
        let clients: [ReportService: AdminClient]

        func get<Answer: Decodable & Sendable>(_ service: ReportService, _ path: String, as type: Answer.Type) async throws -> Answer {
            guard let client = clients[service] else { throw ReportError("no URL for vectis-\(service.rawValue)") }
            return try await client.call("GET", path, as: Answer.self)
        }
    }

    public func run() async throws {
        guard let assets = URL(string: assetsURL), let backups = URL(string: backupsURL), let alerts = URL(string: alertsURL),
            let rules = URL(string: rulesURL)
        else { throw ValidationError("the service URLs must be URLs") }
        let token = AdminClient.resolveToken(token, reading: true)
        let branding: CustomerReport.Branding
        do {
            branding = try CustomerReport.Branding.load(mspName: mspName, logoPath: logo)
        } catch let error as ReportError {
            throw ValidationError(error.description)
        }
        let source = Source(clients: [
            .backups: AdminClient(baseURL: backups, token: token), .alerts: AdminClient(baseURL: alerts, token: token),
            .rules: AdminClient(baseURL: rules, token: token)
        ])
        let assetsClient = AdminClient(baseURL: assets, token: token)
        let wantsPDF = pdf != nil || (all && !html)
        let chromium = ChromiumPDF.find()
        if wantsPDF, chromium == nil {
            throw ValidationError(ChromiumPDF.missing + (all ? " Pass --html for HTML reports." : " Leave out --pdf for the HTML report."))
        }
        guard all, let out else {
            let id = try await CustomerLookup.id(of: customer ?? "", assets: assetsClient)
            let page = ReportPage.html(
                try await CustomerReportAssembly.build(customerId: id, month: month, branding: branding, source: source))
            if let pdf, let chromium {
                try await chromium.pdf(html: page).write(to: URL(fileURLWithPath: pdf))
                print("Wrote \(pdf)")
            } else if let out {
                try Data(page.utf8).write(to: URL(fileURLWithPath: out))
                print("Wrote \(out)")
            } else {
                print(page)
            }
            return
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let customers = try await assetsClient.call("GET", "/v1/customers", as: CustomerList.self).customers
        for entry in customers {
            let report = try await CustomerReportAssembly.build(customerId: entry.id, month: month, branding: branding, source: source)
            let page = ReportPage.html(report)
            let base = URL(fileURLWithPath: out).appendingPathComponent(Self.fileName(name: entry.name, id: entry.id, month: month))
            if let chromium, wantsPDF {
                try await chromium.pdf(html: page).write(to: base.appendingPathExtension("pdf"))
            } else {
                try Data(page.utf8).write(to: base.appendingPathExtension("html"))
            }
        }
        print("Wrote \(customers.count) report\(customers.count == 1 ? "" : "s") for \(month) to \(out)")
    }

    /// `acme-corp-c_1a2b…-2026-11`: safe in any file system, unique per customer.
    static func fileName(name: String, id: String, month: String) -> String {
        let slug = name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? String($0) : "-" }.joined()
            .split(separator: "-").joined(separator: "-")
        let safeId = id.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        return "\(slug.prefix(50))-\(safeId.prefix(40))-\(month)"
    }
}
