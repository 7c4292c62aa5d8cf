import ArgumentParser
import Foundation
import VectisContracts
import VectisRuntime

public struct TapCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Show every message crossing the bus (secrets redacted).",
        discussion: """
            Connects to vectis-bus's tap port, a read-only copy of every frame. Fields whose name contains \
            secret, password, token or privateKey are printed as "***".
            """)

    @Option(name: .customLong("topic"), help: "Show only topics starting with this prefix (repeatable).")
    var topics: [String] = []

    @Flag(help: "One JSON object per line (time, topic, stream, seq, header, body), for jq.")
    var json = false

    @Flag(help: "Hex dump of every frame, subscription frames labelled.")
    var raw = false

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Option(help: "The bus's tap endpoint.")
    var endpoint = ProcessInfo.processInfo.environment["VECTIS_BUS_TAP"] ?? "tcp://127.0.0.1:5552"

    @Option(help: "The bus's publish endpoint (for the start-up round trip).")
    var publishEndpoint = ProcessInfo.processInfo.environment["VECTIS_BUS_PUBLISH"] ?? "tcp://127.0.0.1:5550"

    @Option(help: "The bus's subscribe endpoint (for the start-up round trip).")
    var subscribeEndpoint = ProcessInfo.processInfo.environment["VECTIS_BUS_SUBSCRIBE"] ?? "tcp://127.0.0.1:5551"

    public init() {}

    public func validate() throws {
        if json && raw { throw ValidationError("--json and --raw are alternatives; pick one.") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1.") }
    }

    public func run() throws {
        let curve = try RuntimeConfiguration.curveKeys(Environment(), identity: BusOwnership.tap)
        let tap = Tap(
            options: .init(
                tapEndpoint: endpoint, publishEndpoint: publishEndpoint, subscribeEndpoint: subscribeEndpoint,
                topicPrefixes: topics, count: count, style: raw ? .raw : (json ? .json : .pretty), curve: curve))
        let stdout = FileHandle.standardOutput
        try tap.run(
            output: { line in stdout.write(Data((line + "\n").utf8)) },
            status: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
    }
}
