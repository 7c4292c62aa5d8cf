import Foundation
import VectisAPI

/// What went wrong talking to Datto, in the integration guide's words where it has them.
public struct DattoError: Error, Sendable, Equatable, CustomStringConvertible {
    public typealias Kind = DattoProblemKind

    public var kind: Kind
    /// The endpoint path, e.g. `/bcdr/device` (never the credentials).
    public var endpoint: String
    public var message: String

    public var description: String { message }

    static func unauthorized(_ endpoint: String) -> DattoError {
        DattoError(
            kind: .unauthorized, endpoint: endpoint,
            message: "Public key / secret key pair is wrong. Rotate from the Partner Portal and re-enter.")
    }

    static func forbidden(_ endpoint: String) -> DattoError {
        DattoError(
            kind: .forbidden, endpoint: endpoint,
            message: "The key lacks the BCDR API scope. Datto may require a support ticket to add it.")
    }

    static func wrongRegion(_ endpoint: String) -> DattoError {
        DattoError(
            kind: .wrongRegion, endpoint: endpoint,
            message: "Region is wrong for this partner account. Try the other region.")
    }

    static func notFound(_ endpoint: String) -> DattoError {
        DattoError(kind: .notFound, endpoint: endpoint, message: "Datto answered 404 Not Found for \(endpoint).")
    }

    static func rateLimited(_ endpoint: String, attempts: Int) -> DattoError {
        DattoError(
            kind: .rateLimited, endpoint: endpoint,
            message: "Datto's rate limit (429) held on \(endpoint) through \(attempts) attempts; the next poll will try again.")
    }

    static func serverError(_ endpoint: String, status: Int, attempts: Int) -> DattoError {
        DattoError(
            kind: .serverError, endpoint: endpoint,
            message:
                "Datto answered \(status) on \(endpoint) through \(attempts) attempts; Datto's side is failing, the next poll will try again."
        )
    }

    static func timeout(_ endpoint: String, seconds: Double) -> DattoError {
        DattoError(
            kind: .timeout, endpoint: endpoint,
            message: "Datto did not answer \(endpoint) within \(Int(seconds)) s.")
    }

    static func unreachable(_ endpoint: String, host: String, detail: String) -> DattoError {
        DattoError(
            kind: .unreachable, endpoint: endpoint,
            message: "Cannot reach Datto at \(host) (\(detail)) for \(endpoint). Check DNS, the network and the region's base URL.")
    }

    static func malformed(_ endpoint: String, detail: String) -> DattoError {
        DattoError(
            kind: .malformed, endpoint: endpoint,
            message: "Datto's response to \(endpoint) is not the JSON expected (\(detail)).")
    }

    static func tooLarge(_ endpoint: String, limit: Int) -> DattoError {
        DattoError(
            kind: .tooLarge, endpoint: endpoint,
            message: "Datto's response to \(endpoint) is larger than \(limit >> 20) MiB; it was cut off and not read "
                + "(VECTIS_DATTO_MAX_RESPONSE_MB raises the limit).")
    }

    static func unexpectedStatus(_ endpoint: String, status: Int) -> DattoError {
        DattoError(kind: .unexpectedStatus, endpoint: endpoint, message: "Datto answered \(status) for \(endpoint).")
    }
}
