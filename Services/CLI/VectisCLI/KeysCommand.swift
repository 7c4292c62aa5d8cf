import ArgumentParser
import Foundation
import VectisBus
import ZeroMQ

/// `vectis keys init|generate`: CURVE key pairs for the bus and its clients.
public struct KeysCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "CURVE keys for the bus.", subcommands: [Initialize.self, Generate.self])

    public init() {}

    struct Initialize: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a bus key folder: bus, each service and tap key pairs (secrets 0600) and allowed_keys.",
            discussion: "Keys already there are kept, so running it again changes nothing. Prints no secret.")
        @Option(help: "The folder (created 0700).") var dir = ".vectis/data/bus-keys"

        func run() throws {
            let created = try BusKeyDirectory.create(at: dir)
            print(created.isEmpty ? "bus keys in \(dir) (kept)" : "bus keys in \(dir) (new: \(created.joined(separator: ", ")))")
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write NAME.secret (0600) and NAME.public into a folder; print the public key.")
        @Option var name: String
        @Option var out = "."

        func run() throws {
            let pair = try ZMQCurve.keyPair()
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let secretPath = "\(out)/\(name).secret"
            guard
                FileManager.default.createFile(
                    atPath: secretPath, contents: Data((pair.secretKey + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot write \(secretPath)") }
            try (pair.publicKey + "\n").write(toFile: "\(out)/\(name).public", atomically: true, encoding: .utf8)
            print(pair.publicKey)
        }
    }
}
