import ArgumentParser
import Foundation
import VectisAPI

#if canImport(Glibc)
    import Glibc
#endif

/// `vectis grid <customer>`: a customer's status grid — one row per agent, one cell per night.
public struct GridCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "grid", abstract: "Show a customer's status grid: one row per agent, one cell per night, with success rates.")

    @Argument(help: "Customer id (c_…), key (org:123, name:acme corp) or name (case-insensitive; a unique part is enough).")
    var customer: String

    @Option(help: "Nights shown, tonight included (1–90).")
    var days = 30

    @Option(help: "Roll a night's runs up by worst, last or best (default: the customer's setting).")
    var rollUp: String?

    @Option(help: "Colour: auto (when the output is a terminal), always or never.")
    var color = "auto"

    @Option(help: "vectis-assets URL.")
    var assetsURL = ProcessInfo.processInfo.environment["VECTIS_ASSETS_URL"] ?? "http://127.0.0.1:8082"

    @Option(help: "vectis-backups URL.")
    var backupsURL = ProcessInfo.processInfo.environment["VECTIS_BACKUPS_URL"] ?? "http://127.0.0.1:8083"

    @Option(help: "Read-only or admin token (default: VECTIS_ADMIN_TOKEN, VECTIS_READ_TOKEN, or the local run's token files).")
    var token: String?

    @Flag(help: "Print the JSON the backups service returns.")
    var json = false

    public init() {}

    public func validate() throws {
        guard (1...90).contains(days) else { throw ValidationError("--days must be from 1 to 90") }
        if let rollUp, RollUp(rawValue: rollUp) == nil { throw ValidationError("--roll-up must be worst, last or best") }
        guard ["auto", "always", "never"].contains(color) else { throw ValidationError("--color must be auto, always or never") }
    }

    public func run() async throws {
        guard let assets = URL(string: assetsURL), let backups = URL(string: backupsURL) else {
            throw ValidationError("--assets-url and --backups-url must be URLs")
        }
        let token = AdminClient.resolveToken(token, reading: true)
        let id = try await CustomerLookup.id(of: customer, assets: AdminClient(baseURL: assets, token: token))
        let query = "days=\(days)" + (rollUp.map { "&rollUp=\($0)" } ?? "")
        let grid = try await AdminClient(baseURL: backups, token: token).call(
            "GET", "/v1/customers/\(id)/grid?\(query)", as: CustomerGrid.self)
        if json {
            let encoder = APIJSON.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            print(String(decoding: try encoder.encode(grid), as: UTF8.self))
            return
        }
        let colored = color == "always" || (color == "auto" && isatty(STDOUT_FILENO) == 1)
        print(GridFormatter.render(grid, colored: colored))
    }
}

/// The grid as text: coloured blocks on a terminal, one letter per night otherwise.
public enum GridFormatter {
    /// The letter, the ANSI colour and the legend's word for each state.
    static let looks: [NightCell.Status: (letter: String, color: String, word: String)] = [
        .success: ("S", "32", "success"), .partial: ("P", "33", "partial"), .failure: ("F", "31", "failure"),
        .missed: ("M", "35", "missed"), .offline: ("O", "34", "offline"), .paused: ("-", "37", "paused"), .none: (".", "90", "no result")
    ]

    public static func render(_ grid: CustomerGrid, colored: Bool) -> String {
        func cell(_ status: NightCell.Status) -> String {
            let look = looks[status] ?? ("?", "0", "?")
            return colored ? "\u{1B}[\(look.color)m\(status == .none ? "·" : "■")\u{1B}[0m" : look.letter
        }
        func percent(_ rate: SuccessRate?) -> String {
            rate?.rate.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
        }
        let customer = grid.customer
        var lines = [
            "\(customer.name)  (\(customer.id))",
            "\(grid.nights.count) nights to \(grid.nights.last ?? "?") (the last is tonight), rolled up \(grid.rollUp.rawValue) "
                + "(\(grid.rollUpSource.rawValue)); nights change at \(String(format: "%02d:00", grid.boundaryHour)) \(grid.timeZone)",
            "Success rate: " + grid.rates.map { "\($0.nights) nights \(percent($0))" }.joined(separator: ", "), ""
        ]
        guard !grid.agents.isEmpty else { return (lines + ["  No protected agents yet"]).joined(separator: "\n") }
        let names = grid.agents.map { agent in
            agent.name + (agent.isPaused ? " (paused)" : "") + (agent.isArchived ? " (archived)" : "")
        }
        let width = min(40, names.map(\.count).max() ?? 0)
        let first = grid.nights.first.map { String($0.dropFirst(5)) } ?? ""
        let last = grid.nights.last.map { String($0.dropFirst(5)) } ?? ""
        let span = grid.nights.count
        let header =
            span >= first.count + last.count + 1
            ? first + String(repeating: " ", count: span - first.count - last.count) + last : String(repeating: " ", count: span)
        lines.append("  " + "".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + header + "  30 nights")
        for (agent, name) in zip(grid.agents, names) {
            let label = String(name.prefix(width)).padding(toLength: width, withPad: " ", startingAt: 0)
            lines.append(
                "  \(label)  " + agent.cells.map { cell($0.status) }.joined() + "  " + percent(agent.rates.first { $0.nights == 30 }))
        }
        lines.append("")
        lines.append(
            "Legend: "
                + NightCell.Status.allCases.map { status in "\(cell(status)) \(looks[status]?.word ?? status.rawValue)" }
                .joined(separator: "  "))
        return lines.joined(separator: "\n")
    }
}
