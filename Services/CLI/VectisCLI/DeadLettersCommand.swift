import ArgumentParser
import Foundation

/// `vectis dead-letters list|retry`: the bus messages a service's handler refused, and applying them again.
public struct DeadLettersCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Messages a service could not apply (kept with the error), and applying them again.",
        subcommands: [List.self, Retry.self])

    public init() {}

    static let ports = ["collector": 8081, "assets": 8082, "backups": 8083, "alerts": 8084, "rules": 8085]

    struct Connection: ParsableArguments {
        @Option(help: "collector, assets, backups, alerts or rules.") var service: String
        @Option(help: "The service's URL (default: its local port).") var url: String?
        @Option(help: "Admin token (default: VECTIS_ADMIN_TOKEN, or the local token file).") var token: String?

        func client() throws -> AdminClient {
            guard let port = DeadLettersCommand.ports[service] else {
                throw ValidationError("--service must be one of \(DeadLettersCommand.ports.keys.sorted().joined(separator: ", "))")
            }
            guard let base = URL(string: url ?? "http://127.0.0.1:\(port)") else { throw ValidationError("--url is not a URL") }
            return AdminClient(baseURL: base, token: AdminClient.resolveToken(token))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The dead letters, oldest first.")
        @OptionGroup var connection: Connection
        @Option var limit = 100

        func run() async throws {
            let (_, json) = try await connection.client().send("GET", "/v1/dead-letters?limit=\(limit)")
            let letters = json["deadLetters"] as? [[String: Any]] ?? []
            if letters.isEmpty {
                print("No dead letters in \(connection.service).")
                return
            }
            for letter in letters {
                let id = letter["id"] as? Int ?? 0
                let seq = letter["seq"] as? Int ?? 0
                let attempts = letter["attempts"] as? Int ?? 0
                print(
                    "#\(id)  \(letter["failedAt"] as? String ?? "")  \(letter["topic"] as? String ?? "")  "
                        + "\(letter["stream"] as? String ?? "")#\(seq)  attempts \(attempts)")
                print("      \(letter["error"] as? String ?? "")")
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply every dead letter again; those that work are removed, the rest keep their place.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let (_, json) = try await connection.client().send("POST", "/v1/dead-letters/retry")
            print("applied \(json["applied"] as? Int ?? 0), still failing \(json["stillFailing"] as? Int ?? 0)")
        }
    }
}
