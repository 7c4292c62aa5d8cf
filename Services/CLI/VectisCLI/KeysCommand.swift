import ArgumentParser
import Foundation
import ZeroMQ

/// `vectis keys generate`: CURVE key pairs for the bus and its clients.
public struct KeysCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "CURVE keys for the bus.", subcommands: [Generate.self])

    public init() {}

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write NAME.secret (0600) and NAME.public into a folder; print the public key.")
        @Option var name: String
        @Option var out = "."

        func run() throws {
            let pair = try ZMQCurve.keyPair()
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let secretPath = "\(out)/\(name).secret"
            guard FileManager.default.createFile(
                atPath: secretPath, contents: Data((pair.secretKey + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot write \(secretPath)") }
            try (pair.publicKey + "\n").write(toFile: "\(out)/\(name).public", atomically: true, encoding: .utf8)
            print(pair.publicKey)
        }
    }
}
