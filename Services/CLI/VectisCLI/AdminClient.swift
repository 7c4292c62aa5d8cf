import Foundation
import VectisAPI

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
        let (status, data) = try await request(method, path, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    /// Sends `body` (a shape of `VectisAPI`) and decodes the answer into `Answer`.
    func call<Answer: Decodable>(
        _ method: String, _ path: String, body: (any Encodable)? = nil, as answer: Answer.Type
    ) async throws -> Answer {
        let (_, data) = try await request(method, path, body: try body.map { try APIJSON.encoder().encode($0) })
        do {
            return try APIJSON.decode(Answer.self, from: data)
        } catch {
            throw Failure(description: "unexpected answer from \(baseURL.absoluteString)\(path): \(error)")
        }
    }

    private func request(_ method: String, _ path: String, body: Data?) async throws -> (status: Int, data: Data) {
        // The path may carry a query string, which appendingPathComponent would escape.
        let parts = path.split(separator: "?", maxSplits: 1)
        guard
            var components = URLComponents(
                url: baseURL.appendingPathComponent(String(parts[0].dropFirst())), resolvingAgainstBaseURL: false)
        else { throw Failure(description: "not a usable address: \(baseURL.absoluteString)\(path)") }
        if parts.count == 2 { components.percentEncodedQuery = String(parts[1]) }
        guard let url = components.url else { throw Failure(description: "not a usable address: \(baseURL.absoluteString)\(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
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
        if status == 401 {
            throw Failure(
                description: "the service refused the token: pass --token or set VECTIS_ADMIN_TOKEN (VECTIS_READ_TOKEN for reads)")
        }
        if status >= 400 {
            let problem = try? JSONDecoder().decode(APIProblem.self, from: data)
            throw Failure(description: problem?.error ?? "HTTP \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return (status, data)
    }
}
