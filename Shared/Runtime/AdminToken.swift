import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bearer token admin endpoints require: `VECTIS_ADMIN_TOKEN`, or — for local runs — a token generated once
/// into `<data dir>/admin-token` (0600), which every service sharing that folder and the `vectis` CLI read.
public enum AdminToken {
    static let file = TokenFile(variable: "VECTIS_ADMIN_TOKEN", fileName: "admin-token")

    /// A token nobody knows: admin routes built without a configured token answer 401 to everyone.
    public static var unguessable: String {
        (0..<32).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
    }

    public static func resolve(_ env: Environment, dataDirectory: String) throws -> String {
        try file.resolve(env, dataDirectory: dataDirectory)
    }
}

/// The read-only token: reads of customer data (customers, devices, agents, runs, alerts, tickets) accept it or
/// the admin token; changes need the admin token. `VECTIS_READ_TOKEN`, `VECTIS_READ_TOKEN_FILE`, or generated once
/// into `<data dir>/read-token` like the admin token — for a wall screen or a read-only colleague.
public enum ReadToken {
    static let file = TokenFile(variable: "VECTIS_READ_TOKEN", fileName: "read-token")

    public static func resolve(_ env: Environment, dataDirectory: String) throws -> String {
        try file.resolve(env, dataDirectory: dataDirectory)
    }
}

/// A token from a variable, a file named by `<variable>_FILE` (compose secrets), or a file in the data folder that
/// the first service to start creates.
struct TokenFile {
    let variable: String
    let fileName: String
    static let minimumLength = 16

    func resolve(_ env: Environment, dataDirectory: String) throws -> String {
        if let token = env[variable] {
            guard token.utf8.count >= Self.minimumLength else {
                throw ConfigurationError(
                    variable: variable, value: "(\(token.utf8.count) characters)", expected: "a token of 16 or more characters")
            }
            return token
        }
        if let file = env[variable + "_FILE"] {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                text.trimmingCharacters(in: .whitespacesAndNewlines).utf8.count >= Self.minimumLength
            else {
                throw ConfigurationError(
                    variable: variable + "_FILE", value: file, expected: "a readable file holding a token of 16 or more characters")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let path = "\(dataDirectory)/\(fileName)"
        if let token = try read(path) { return token }
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var bytes = [UInt8](repeating: 0, count: 24)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let token = Data(bytes).base64EncodedString().replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "+", with: "-")
        // Written whole to a private temporary file and synced, then linked into place: the file appears complete
        // or not at all (no empty token after a crash), and of services starting together exactly one link wins —
        // the others read the winner's token.
        let temporary = "\(path).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ConfigurationError(variable: variable, value: "(unset)", expected: "set, or \(dataDirectory) writable") }
        let line = token + "\n"
        let written = line.withCString { write(fd, $0, strlen($0)) }
        let synced = fsync(fd) == 0
        close(fd)
        defer { unlink(temporary) }
        guard written == line.utf8.count, synced else {
            throw ConfigurationError(
                variable: variable, value: "(unset)", expected: "set, or \(dataDirectory) writable (writing \(fileName) failed)")
        }
        if link(temporary, path) == 0 { return token }
        guard errno == EEXIST, let theirs = try read(path) else {
            throw ConfigurationError(variable: variable, value: "(unset)", expected: "set, or \(path) creatable")
        }
        return theirs
    }

    /// The token in `path`, nil when there is no file; an empty or short one (a truncated copy) refuses start.
    private func read(_ path: String) throws -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= Self.minimumLength else {
            throw ConfigurationError(
                variable: variable, value: "(unset; \(path) holds \(token.utf8.count) characters)",
                expected: "set, or \(path) holding a token of 16 or more characters (delete the file to have a new one made)")
        }
        return token
    }
}
