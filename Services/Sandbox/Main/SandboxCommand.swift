import ArgumentParser
import DattoSandbox
import Foundation
import Logging
import PSASandbox

@main
struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectis-sandbox",
        abstract: "Local emulations of the APIs Vectis talks to, for development and tests.",
        subcommands: [DattoCommand.self, PSACommand.self])
}

struct DattoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datto", abstract: "An emulated Datto BCDR Partner API with a generated fleet (not the real service).")

    @Option var host = "127.0.0.1"
    @Option var port = 9081
    @Option var seed: UInt64 = 42
    @Option var customers = 5
    @Option var devicesPerCustomer = 2
    @Option var agentsPerDevice = 4
    @Option var sharesPerDevice = 1
    @Option var failingAgents = 2
    @Option(help: "Nights the failing agents have already failed before the sandbox's start.") var failingNights = 2
    @Option(help: "Runs each asset's history shows.") var historyLength = 10
    @Option(help: "One agent in this many has never backed up (0: none).") var agentsWithoutBackupsEvery = 9
    @Option(help: "Devices not assigned to any client.") var unassignedDevices = 1
    @Option(help: "Hours between an agent's backups.") var cadenceHours = 24.0
    @Flag(help: "Let the sandbox clock follow real time too.") var realTime = false
    @Option(help: "With --real-time, sandbox seconds per real second (1440: a day a minute).") var speed = 1.0
    @Option(help: "Answer 429 beyond this many requests per key per minute (0: only count).") var enforceRequestsPerMinute = 0

    func run() async throws {
        let fleet = FleetConfiguration(
            seed: seed, customers: customers, devicesPerCustomer: devicesPerCustomer, agentsPerDevice: agentsPerDevice,
            sharesPerDevice: sharesPerDevice, cadence: .seconds(Int(cadenceHours * 3_600)), historyLength: historyLength,
            failingAgents: failingAgents, failingNights: failingNights, agentsWithoutBackupsEvery: agentsWithoutBackupsEvery,
            unassignedDevices: unassignedDevices, realTime: realTime, speed: speed)
        let configuration = DattoSandboxConfiguration(
            host: host, port: port, fleet: fleet, enforcedRequestsPerMinute: enforceRequestsPerMinute)
        let (application, state) = buildDattoSandbox(configuration)
        let key = configuration.keys[0]
        FileHandle.standardError.write(
            Data(
                """
                vectis-sandbox datto: http://\(host):\(port)/v1 (an emulation for development and tests, not Datto)
                  \(state.deviceCount) devices, \(state.assetCount) agents and shares; region \(configuration.accountRegion)
                  public key \(key.publicKey); secret key: see docs/datto-sandbox.md

                """.utf8))
        try await application.runService()
    }
}

struct PSACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psa", abstract: "Emulated ConnectWise, Autotask and HaloPSA ticket APIs (not the real services).")

    @Option var host = "127.0.0.1"
    @Option var port = 9082

    func run() async throws {
        let (application, _) = buildPSASandbox(host: host, port: port)
        FileHandle.standardError.write(
            Data(
                """
                vectis-sandbox psa: http://\(host):\(port) — ConnectWise /cw, Autotask /at, HaloPSA /halo
                  (an emulation for development and tests; credentials in docs/psa-sandbox.md; tickets at /_sandbox/tickets)

                """.utf8))
        try await application.runService()
    }
}
