import Foundation
import HTTPTypes
import Hummingbird
import VectisContracts

extension Response {
    /// JSON in the bus's conventions (ISO-8601 UTC timestamps with milliseconds, sorted keys).
    public static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try BusJSON.makeEncoder().encode(value))))
    }

    /// `{"error": message}` with the status: every API error says what was wrong.
    public static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let body = (try? BusJSON.makeEncoder().encode(["error": message])) ?? Data(#"{"error":"error"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
