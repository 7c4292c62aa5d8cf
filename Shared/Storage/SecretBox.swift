import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Encrypts secrets at rest (AES-256-GCM). The key lives in a file only the service's user can read:
/// `VECTIS_SECRET_KEY_FILE`, or one generated on first start with permissions 0600.
public struct SecretBox: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// Reads the key file, creating it (0600) if it does not exist yet.
    public static func load(keyFile path: String) throws -> SecretBox {
        let url = URL(fileURLWithPath: path)
        if let text = try? String(contentsOf: url, encoding: .utf8),
            let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32
        {
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        if FileManager.default.fileExists(atPath: path) {
            throw SecretBoxError.unreadableKeyFile(path)
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let key = SymmetricKey(size: .bits256)
        let encoded = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        // Create with 0600 from the start, so the key is never readable by others, not even briefly.
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw SecretBoxError.cannotCreateKeyFile(path, errno: errno) }
        defer { Glibc.close(fd) }
        let written = encoded.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        guard written == encoded.utf8.count else { throw SecretBoxError.cannotCreateKeyFile(path, errno: errno) }
        return SecretBox(key: key)
    }

    public func seal(_ secret: String) throws -> Data {
        guard let combined = try AES.GCM.seal(Data(secret.utf8), using: key).combined else {
            throw SecretBoxError.sealFailed
        }
        return combined
    }

    public func open(_ sealed: Data) throws -> String {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
    }
}

public enum SecretBoxError: Error, CustomStringConvertible {
    case unreadableKeyFile(String)
    case cannotCreateKeyFile(String, errno: Int32)
    case sealFailed

    public var description: String {
        switch self {
        case .unreadableKeyFile(let path): "\(path) exists but does not hold a base64 256-bit key"
        case .cannotCreateKeyFile(let path, let code): "cannot create \(path): \(String(cString: strerror(code)))"
        case .sealFailed: "encryption failed"
        }
    }
}
