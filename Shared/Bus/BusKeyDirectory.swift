import Foundation
import VectisContracts
import ZeroMQ

/// The bus's CURVE keys in one folder, as `vectis keys init` writes them and `make run` uses them:
/// `bus.secret`/`bus.public`, `<identity>.secret`/`<identity>.public` for each service and for `tap` (taps and
/// the CLI), and `allowed_keys` (`<public key> <identity>` per line). The folder is 0700 and secrets 0600.
public struct BusKeyDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// `VECTIS_BUS_KEY_DIR`, else `<VECTIS_DATA_DIR>/bus-keys` when that folder exists.
    public static func resolve(_ environment: [String: String]) -> BusKeyDirectory? {
        if let explicit = environment["VECTIS_BUS_KEY_DIR"], !explicit.isEmpty { return BusKeyDirectory(path: explicit) }
        let fallback = (environment["VECTIS_DATA_DIR"] ?? ".vectis/data") + "/bus-keys"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: fallback, isDirectory: &isDirectory), isDirectory.boolValue else {
            return nil
        }
        return BusKeyDirectory(path: fallback)
    }

    /// The keys `identity` connects with.
    public func clientKeys(identity: String) throws -> CurveClientKeys {
        let secret = try Self.key(in: "\(path)/\(identity).secret")
        return CurveClientKeys(
            serverPublicKey: try Self.key(in: "\(path)/bus.public"), publicKey: try ZMQCurve.publicKey(fromSecret: secret),
            secretKey: secret)
    }

    public var serverSecretKey: String { get throws { try Self.key(in: "\(path)/bus.secret") } }

    public var allowList: [String: String] {
        get throws {
            guard let text = try? String(contentsOfFile: "\(path)/allowed_keys", encoding: .utf8) else {
                throw KeyFileError(path: "\(path)/allowed_keys", problem: "cannot be read")
            }
            return Self.parseAllowList(text)
        }
    }

    /// `<public key> <identity>` or `<public key>  # identity` per line; blank lines and `#` lines skipped.
    /// A key without a name is admitted with its key as its identity (it may subscribe and probe only).
    public static func parseAllowList(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).filter { $0 != "#" }
            guard let key = words.first, key.utf8.count == 40, !key.hasPrefix("#") else { continue }
            let name = words.dropFirst().first.map { $0.hasPrefix("#") ? String($0.dropFirst()) : $0 } ?? key
            result[key] = name.isEmpty ? key : name
        }
        return result
    }

    /// Creates whatever is missing: the folder (0700), a key pair for the bus and each identity (secrets
    /// 0600), and the allow-list. Keys already there are kept. Returns the identities given new keys.
    @discardableResult
    public static func create(at path: String, identities: [String] = BusOwnership.identities) throws -> [String] {
        let manager = FileManager.default
        try manager.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
        var created: [String] = []
        for name in ["bus"] + identities where !manager.fileExists(atPath: "\(path)/\(name).secret") {
            let pair = try ZMQCurve.keyPair()
            try writeSecret(pair.secretKey + "\n", to: "\(path)/\(name).secret")
            try (pair.publicKey + "\n").write(toFile: "\(path)/\(name).public", atomically: true, encoding: .utf8)
            created.append(name)
        }
        var allowList = ""
        for name in identities {
            let secret = try key(in: "\(path)/\(name).secret")
            allowList += "\(try ZMQCurve.publicKey(fromSecret: secret)) \(name)\n"
        }
        try writeSecret(allowList, to: "\(path)/allowed_keys")
        return created
    }

    /// Written to a temporary file created 0600, then renamed: never readable by others, never half-written.
    static func writeSecret(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(UUID().uuidString)"
        guard
            FileManager.default.createFile(
                atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else { throw KeyFileError(path: path, problem: "cannot be written") }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
    }

    /// The first 40-character line of a key file.
    public static func key(in path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KeyFileError(path: path, problem: "cannot be read")
        }
        guard
            let key = text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) })
                .first(where: { $0.utf8.count == 40 && !$0.hasPrefix("#") })
        else { throw KeyFileError(path: path, problem: "holds no 40-character Z85 key") }
        return key
    }
}

public struct KeyFileError: Error, CustomStringConvertible {
    public var path: String
    public var problem: String
    public var description: String { "bus key file \(path) \(problem)" }
}
