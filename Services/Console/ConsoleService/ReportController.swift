import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import VectisAPI
import VectisReport
import VectisRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `GET /v1/customers/{id}/report?month=2026-11` on the console's origin: a customer's monthly report as a printable
/// HTML page, or (`&format=pdf`) as a PDF printed by headless Chromium where it is installed. The report reads the
/// services with the caller's own token, so it shows exactly what that token may read and nothing more.
struct ReportController {
    let upstreams: [String: URL]
    let session: BoundedHTTPSession
    let timeout: Duration
    let branding: CustomerReport.Branding
    let chromium: ChromiumPDF?
    let logger: Logger
    /// PDFs printed at once (each is a Chromium process): more wait their turn as a 503.
    let printing = PrintSlots(limit: 2)

    final class PrintSlots: Sendable {
        let limit: Int
        private let busy = Mutex(0)
        init(limit: Int) { self.limit = limit }
        func take() -> Bool {
            busy.withLock { count in
                guard count < limit else { return false }
                count += 1
                return true
            }
        }
        func give() { busy.withLock { $0 -= 1 } }
    }

    typealias Context = BasicRequestContext

    func addRoutes(to router: Router<Context>) {
        router.get("v1/customers/:id/report", use: report)
    }

    /// The services' APIs with the caller's Authorization header.
    struct Upstream: ReportSource {
        let upstreams: [String: URL]
        let session: BoundedHTTPSession
        let timeout: Duration
        let authorization: String?

        func get<Answer: Decodable & Sendable>(_ service: ReportService, _ path: String, as type: Answer.Type) async throws -> Answer {
            guard let base = upstreams[service.rawValue], let url = URL(string: base.absoluteString.trimmingSuffix("/") + path) else {
                throw ReportError("vectis-\(service.rawValue) is not configured.")
            }
            var request = URLRequest(url: url)
            request.timeoutInterval = Double(timeout.components.seconds)
            request.setValue("application/json", forHTTPHeaderField: "Accept")
            if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
            let (data, response) = try await session.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard status == 200 else {
                throw UpstreamRefusal(
                    status: status,
                    message: (try? APIJSON.decode(APIProblem.self, from: data).error) ?? "vectis-\(service.rawValue) answered \(status).")
            }
            return try APIJSON.decode(Answer.self, from: data)
        }
    }

    /// A service refused: its status and words go back to the caller (401 for a wrong token, 404 for no such customer).
    struct UpstreamRefusal: Error {
        let status: Int
        let message: String
    }

    @Sendable func report(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameters.require("id")
        let query = request.uri.queryParameters
        guard let month = query["month"].map(String.init), CustomerReport.bounds(of: month, timeZone: .gmt) != nil else {
            return Response.problem(.badRequest, "month must be a month like 2026-11.")
        }
        let format = query["format"].map(String.init) ?? "html"
        guard ["html", "pdf"].contains(format) else { return Response.problem(.badRequest, "format must be html or pdf.") }
        if format == "pdf", chromium == nil {
            return Response.problem(
                .notImplemented, ChromiumPDF.missing + " Open the HTML report and use the browser's Print → Save as PDF instead.")
        }
        let source = Upstream(upstreams: upstreams, session: session, timeout: timeout, authorization: request.headers[.authorization])
        let report: CustomerReport
        do {
            report = try await CustomerReportAssembly.build(customerId: id, month: month, branding: branding, source: source)
        } catch let refusal as UpstreamRefusal {
            return Response.problem(HTTPResponse.Status(code: refusal.status == 0 ? 502 : refusal.status), refusal.message)
        } catch let error as ReportError {
            return Response.problem(.badRequest, error.description)
        } catch {
            logger.warning("a report could not be assembled", metadata: ["customer": "\(id)", "error": "\(error)"])
            return Response.problem(.badGateway, "The report could not be assembled: a service did not answer.")
        }
        let html = ReportPage.html(report)
        let name = Self.fileName(report)
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        guard format == "pdf", let chromium else {
            headers[.contentType] = "text/html; charset=utf-8"
            // The page carries no script: forbid any, and anything fetched, even if a name slipped through escaping.
            headers[.contentSecurityPolicy] = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        }
        guard printing.take() else {
            return Response.problem(.serviceUnavailable, "Other reports are being printed; try again in a moment.")
        }
        defer { printing.give() }
        do {
            let pdf = try await chromium.pdf(html: html)
            headers[.contentType] = "application/pdf"
            headers[.contentDisposition] = "attachment; filename=\"\(name).pdf\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        } catch {
            logger.warning("a report PDF could not be printed", metadata: ["customer": "\(id)", "error": "\(error)"])
            return Response.problem(.internalServerError, "\(error)")
        }
    }

    /// `backup-report-acme-corp-2026-11`: letters, digits and dashes only.
    static func fileName(_ report: CustomerReport) -> String {
        let slug = report.grid.customer.name.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
            .split(separator: "-").joined(separator: "-")
        return "backup-report-\(slug.prefix(60))-\(report.month)".unicodeScalars.filter(\.isASCII).map(String.init).joined()
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
