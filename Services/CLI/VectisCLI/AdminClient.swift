import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Calls a service's admin API with the bearer token.
struct AdminClient {
    let baseURL: URL
    let token: String?

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The token: `--token`, else `VECTIS_ADMIN_TOKEN`, else the file a local collector wrote (`<data>/admin-token`).
    static func resolveToken(_ option: String?) -> String? {
        if let option, !option.isEmpty { return option }
        let environment = ProcessInfo.processInfo.environment
        if let token = environment["VECTIS_ADMIN_TOKEN"], !token.isEmpty { return token }
        if let file = environment["VECTIS_ADMIN_TOKEN_FILE"], let text = try? String(contentsOfFile: file, encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let dataDirectory = environment["VECTIS_DATA_DIR"] ?? ".vectis/data"
        return (try? String(contentsOfFile: "\(dataDirectory)/admin-token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func send(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> (status: Int, json: [String: Any]) {
        // The path may carry a query string, which appendingPathComponent would escape.
        let parts = path.split(separator: "?", maxSplits: 1)
        var components = URLComponents(url: baseURL.appendingPathComponent(String(parts[0].dropFirst())), resolvingAgainstBaseURL: false)!
        if parts.count == 2 { components.percentEncodedQuery = String(parts[1]) }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw Failure(description: "cannot reach \(baseURL.absoluteString) (\(error.localizedDescription)); is the service running?")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        if status == 401 {
            throw Failure(description: "the service refused the admin token: pass --token or set VECTIS_ADMIN_TOKEN")
        }
        if status >= 400 {
            throw Failure(description: json["error"] as? String ?? "HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return (status, json)
    }
}
