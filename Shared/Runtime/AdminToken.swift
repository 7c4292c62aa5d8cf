import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The bearer token admin endpoints require: `VECTIS_ADMIN_TOKEN`, or — for local runs — a token generated once
/// into `<data dir>/admin-token` (0600), which every service sharing that folder and the `vectis` CLI read.
public enum AdminToken {
    /// A token nobody knows: admin routes built without a configured token answer 401 to everyone.
    public static var unguessable: String {
        (0..<32).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
    }

    public static func resolve(_ env: Environment, dataDirectory: String) throws -> String {
        if let token = env["VECTIS_ADMIN_TOKEN"] { return token }
        // Compose secrets arrive as files: VECTIS_ADMIN_TOKEN_FILE=/run/secrets/admin_token.
        if let file = env["VECTIS_ADMIN_TOKEN_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else { throw ConfigurationError(variable: "VECTIS_ADMIN_TOKEN_FILE", value: file, expected: "a readable file holding the token") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let path = "\(dataDirectory)/admin-token"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // An empty or short file (a crash between create and write, a truncated copy) must not become the token.
            guard token.utf8.count >= 16 else {
                throw ConfigurationError(
                    variable: "VECTIS_ADMIN_TOKEN", value: "(unset; \(path) holds \(token.utf8.count) characters)",
                    expected: "set, or \(path) holding a token of 16 or more characters (delete the file to have a new one made)")
            }
            return token
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let token = Data(bytes).base64EncodedString().replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "+", with: "-")
        // Services starting together race for the file: create it exclusively, and use theirs if we lost.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            if errno == EEXIST {
                // Another service made it a moment ago: wait (briefly) for its token to be written.
                for _ in 0..<50 {
                    let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    if text.utf8.count >= 16 { return text }
                    usleep(20_000)
                }
                throw ConfigurationError(
                    variable: "VECTIS_ADMIN_TOKEN", value: "(unset; \(path) stays empty)",
                    expected: "set, or \(path) holding a token of 16 or more characters (delete the file to have a new one made)")
            }
            throw ConfigurationError(variable: "VECTIS_ADMIN_TOKEN", value: "(unset)", expected: "set, or \(path) writable")
        }
        defer { close(fd) }
        let line = token + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        return token
    }
}
