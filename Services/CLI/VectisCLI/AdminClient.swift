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

    /// The token: `--token`, else `VECTIS_ADMIN_TOKEN`, else the file a local run wrote (`<data>/admin-token`);
    /// for reads (`reading: true`) the read-only token the same way when there is no admin token.
    static func resolveToken(_ option: String?, reading: Bool = false) -> String? {
        if let option, !option.isEmpty { return option }
        let environment = ProcessInfo.processInfo.environment
        let dataDirectory = environment["VECTIS_DATA_DIR"] ?? ".vectis/data"
        for (variable, file) in [("VECTIS_ADMIN_TOKEN", "admin-token")] + (reading ? [("VECTIS_READ_TOKEN", "read-token")] : []) {
            if let token = environment[variable], !token.isEmpty { return token }
            if let path = environment[variable + "_FILE"], let text = try? String(contentsOfFile: path, encoding: .utf8) {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if let text = try? String(contentsOfFile: "\(dataDirectory)/\(file)", encoding: .utf8) {
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return nil
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
            throw Failure(
                description: "the service refused the token: pass --token or set VECTIS_ADMIN_TOKEN (VECTIS_READ_TOKEN for reads)")
        }
        if status >= 400 {
            throw Failure(description: json["error"] as? String ?? "HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return (status, json)
    }
}
