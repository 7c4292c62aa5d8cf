import Foundation
import VectisAPI
import VectisTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

enum HTTP {
    /// An answer decoded into its `VectisAPI` shape; a body of another shape fails the test, naming what came.
    static func decode<T: Decodable>(_ type: T.Type, _ answer: (status: Int, body: String, json: [String: Any]), _ what: String) throws -> T
    {
        do {
            return try APIJSON.decode(T.self, from: Data(answer.body.utf8))
        } catch {
            throw ProcessFailure("\(what) answered \(answer.status) \(answer.body.prefix(400)), not a \(T.self): \(error)")
        }
    }

    static func send(_ method: String, _ url: String, _ body: [String: Any]? = nil, bearer: String? = nil) async throws
        -> (status: Int, body: String, json: [String: Any])
    {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let text = String(decoding: data, as: UTF8.self)
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, text, json)
    }

    /// The raw bytes of an answer (a PDF, an image).
    static func sendData(_ method: String, _ url: String, bearer: String? = nil) async throws -> (status: Int, data: Data) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        request.timeoutInterval = 120
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}
