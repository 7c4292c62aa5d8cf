import ArgumentParser
import Foundation
import VectisAPI
import VectisContracts

/// `vectis rules …` and `vectis tickets`: the rules engine from a terminal.
public struct RulesCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rules", abstract: "Rule templates, enabled rules, their history; customer → PSA company mappings.",
        subcommands: [Templates.self, Enable.self, Update.self, List.self, History.self, Map.self, Live.self, Picklists.self])

    public init() {}

    struct Connection: ParsableArguments {
        @Option(help: "vectis-rules URL.")
        var url = ProcessInfo.processInfo.environment["VECTIS_RULES_URL"] ?? "http://127.0.0.1:8085"
        @Option(help: "Admin token (default: VECTIS_ADMIN_TOKEN, or the local token file).")
        var token: String?

        var client: AdminClient {
            get throws {
                guard let base = URL(string: url) else { throw ValidationError("--url is not a URL") }
                return AdminClient(baseURL: base, token: AdminClient.resolveToken(token, reading: true))
            }
        }
    }

    /// `--settings` as the PSA settings object.
    static func settings(_ text: String) throws -> PSASettings {
        do {
            return try JSONDecoder().decode(PSASettings.self, from: Data(text.utf8))
        } catch {
            throw ValidationError("--settings must be a JSON object of PSA settings: \(error)")
        }
    }

    /// The secrets object read from standard input (which keeps them out of `ps` and the shell history).
    static func secretsFromStandardInput() throws -> PSASecrets {
        guard let line = readLine(), let secrets = try? JSONDecoder().decode(PSASecrets.self, from: Data(line.utf8)) else {
            throw ValidationError("--secrets-stdin: standard input must hold the secrets as one JSON object line")
        }
        return secrets
    }

    struct Templates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The templates ready to enable.")
        @OptionGroup var connection: Connection
        func run() async throws {
            let list = try await connection.client.call("GET", "/v1/rule-templates", as: RuleTemplateList.self)
            for template in list.templates {
                print("\(template.id)  \(template.name)")
                print("    settings: \(template.settings.joined(separator: ", "))")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a template; settings and secrets as JSON (secrets on standard input keeps them out of ps).")
        @OptionGroup var connection: Connection
        @Argument(help: "Template id, e.g. datto-fails-2-nights-connectwise.") var template: String
        @Option(help: "PSA settings as a JSON object (not needed with --action notify).") var settings = "{}"
        @Flag(help: "Read the PSA secrets JSON object from standard input.") var secretsStdin = false
        @Option var thresholdNights: Int?
        @Flag var closeOnRecovery = false
        @Option(help: "ticket, retry, both, or notify (only the channels: no PSA settings needed).") var action = "ticket"
        @Option(help: "Hours of dry run before it acts (default: the service's setting).") var dryRunHours: Double?
        @Option(help: "A channel to tell (ch_…); repeat for more.") var notify: [String] = []
        @Flag(help: "Tell the channels on each further failed night too, not only on open and recovery.") var notifyRepeat = false
        @Option(help: "When a person closed the ticket while it still fails: reopen (default), new-ticket or leave.")
        var whenClosedByPerson: String?
        @Option(help: "Days after a close within which a new failure reopens the ticket (default 7; 0 never).")
        var reopenWindowDays: Int?

        func run() async throws {
            let body = NewRule(
                templateId: template, settings: try RulesCommand.settings(settings),
                secrets: secretsStdin ? try RulesCommand.secretsFromStandardInput() : nil, thresholdNights: thresholdNights,
                closeOnRecovery: closeOnRecovery, action: action, dryRunHours: dryRunHours, whenClosedByPerson: whenClosedByPerson,
                reopenWindowDays: reopenWindowDays, notifyChannels: notify.isEmpty ? nil : notify, notifyRepeat: notifyRepeat)
            let rule = try await connection.client.call("POST", "/v1/rules", body: body, as: RuleView.self)
            let until = BusJSON.formatTimestamp(rule.dryRunUntil)
            print("Enabled \(rule.name) as \(rule.id)" + (rule.dryRun ? " (dry run until \(until))" : " (live)"))
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Edit a rule in place (its tickets and history stay with it): rotate a secret, move to another board, change the threshold.",
            discussion: "--settings replaces all the settings; secrets read with --secrets-stdin replace only those given.")
        @OptionGroup var connection: Connection
        @Argument(help: "Rule id (ru_…).") var rule: String
        @Option(help: "All PSA settings as a JSON object.") var settings: String?
        @Flag(help: "Read the secrets to replace, a JSON object, from standard input.") var secretsStdin = false
        @Option var name: String?
        @Option var thresholdNights: Int?
        @Option(help: "ticket, retry or both.") var action: String?
        @Option(help: "true or false.") var closeOnRecovery: Bool?
        @Option(help: "reopen, new-ticket or leave.") var whenClosedByPerson: String?
        @Option(help: "0 to 90 days.") var reopenWindowDays: Int?
        @Option(help: "The channels to tell (ch_…), replacing the rule's; repeat for more.") var notify: [String] = []
        @Flag(help: "Tell no channel any more.") var notifyNone = false
        @Option(help: "true or false: tell the channels on each further failed night.") var notifyRepeat: Bool?

        func run() async throws {
            let change = RuleChange(
                name: name, settings: try settings.map(RulesCommand.settings),
                secrets: secretsStdin ? try RulesCommand.secretsFromStandardInput() : nil, thresholdNights: thresholdNights,
                closeOnRecovery: closeOnRecovery, action: action, whenClosedByPerson: whenClosedByPerson,
                reopenWindowDays: reopenWindowDays, notifyChannels: notifyNone ? [] : notify.isEmpty ? nil : notify,
                notifyRepeat: notifyRepeat)
            guard change.editsRule else {
                throw ValidationError(
                    "Nothing to change: give --settings, --secrets-stdin, --name, --threshold-nights, --action, --close-on-recovery, "
                        + "--when-closed-by-person, --reopen-window-days, --notify, --notify-none or --notify-repeat.")
            }
            let updated = try await connection.client.call("PATCH", "/v1/rules/\(rule)", body: change, as: RuleView.self)
            print("Updated \(updated.id) (\(updated.name)).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enabled rules.")
        @OptionGroup var connection: Connection
        func run() async throws {
            for rule in try await connection.client.call("GET", "/v1/rules", as: RuleList.self).rules {
                print(
                    "\(rule.id)  \(rule.name)  threshold \(rule.thresholdNights) nights, \(rule.action.rawValue)"
                        + (rule.notifyChannels.isEmpty ? "" : ", tells \(rule.notifyChannels.joined(separator: ", "))")
                        + "\(rule.dryRun ? ", dry run" : "")\(rule.enabled ? "" : ", disabled")")
            }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every decision and PSA call of a rule, newest first.")
        @OptionGroup var connection: Connection
        @Argument var rule: String
        func run() async throws {
            for entry in try await connection.client.call("GET", "/v1/rules/\(rule)/history", as: RuleHistory.self).history {
                let status = entry.status.map { " [\($0)]" } ?? ""
                print("\(HubFormatter.short(entry.at) ?? "?")  \(entry.kind)\(status)  \(entry.detail)")
            }
        }
    }

    struct Map: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Map a customer to its company in a PSA.")
        @OptionGroup var connection: Connection
        @Argument(help: "connectwise, autotask or halopsa.") var psa: String
        @Argument(help: "Customer id (c_…).") var customer: String
        @Argument(help: "The PSA's company id.") var company: String
        func run() async throws {
            _ = try await connection.client.call(
                "PUT", "/v1/psa-mappings/\(psa)/\(customer)", body: CompanyChoice(companyId: company), as: PSAMapping.self)
            print("Mapped \(customer) to \(psa) company \(company).")
        }
    }

    struct Picklists: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "picklists",
            abstract: "The PSA's boards/queues, statuses, priorities, ticket types and companies, read live, by name.",
            discussion: "With a rule id, its saved connection is used. Before enabling, give --psa and --settings "
                + "(and the secrets JSON on standard input with --secrets-stdin) to see the ids to put in --settings.")
        @OptionGroup var connection: Connection
        @Argument(help: "A saved rule's id (ru_…).") var rule: String?
        @Option(help: "connectwise, autotask or halopsa (without a rule id).") var psa: String?
        @Option(help: "PSA connection settings as a JSON object.") var settings: String?
        @Flag(help: "Read the PSA secrets JSON object from standard input.") var secretsStdin = false

        func run() async throws {
            guard rule != nil || psa != nil else { throw ValidationError("Give a rule id, or --psa with --settings.") }
            let query = PicklistsQuery(
                psa: psa, rule: rule, settings: try settings.map(RulesCommand.settings),
                secrets: secretsStdin ? try RulesCommand.secretsFromStandardInput() : nil)
            let answer = try await connection.client.call("POST", "/v1/psa-picklists", body: query, as: PicklistsOutcome.self)
            guard answer.ok else { throw ValidationError("The PSA answered: \(answer.error ?? "no reason given")") }
            for (field, choices) in (answer.picklists ?? [:]).sorted(by: { $0.key < $1.key }) {
                print(field)
                for line in HubFormatter.table(["Id", "Name"], choices.map { ["\($0.id)", $0.name] }) { print(line) }
            }
            let companies = answer.companies ?? []
            print("companies (\(companies.count)\(answer.companiesTruncated == true ? ", the PSA has more" : ""))")
            for line in HubFormatter.table(["Id", "Name"], companies.map { [$0.id, $0.name] }) { print(line) }
        }
    }

    struct Live: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a rule's dry run now.")
        @OptionGroup var connection: Connection
        @Argument var rule: String
        func run() async throws {
            _ = try await connection.client.call("PATCH", "/v1/rules/\(rule)", body: RuleChange(dryRunHours: 0), as: RuleView.self)
            print("\(rule) is live.")
        }
    }
}

/// `vectis tickets`: what the rules opened.
public struct TicketsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "tickets", abstract: "Tickets the rules opened in the PSAs.")
    @OptionGroup var connection: RulesCommand.Connection

    public init() {}

    public func run() async throws {
        let tickets = try await connection.client.call("GET", "/v1/tickets", as: TicketList.self).tickets
        if tickets.isEmpty {
            print("No tickets.")
            return
        }
        let rows = tickets.map { ticket -> [String] in
            [
                "\(ticket.psa.rawValue) #\(ticket.externalId ?? "-")", Self.state(ticket), ticket.customerName,
                ticket.agentName + (ticket.agentClass.map { " (\($0.rawValue))" } ?? ""),
                "\(ticket.notes)", Self.inPSA(ticket), ticket.ruleId
            ]
        }
        for line in HubFormatter.table(["Ticket", "State", "Customer", "Agent", "Notes", "In the PSA", "Rule"], rows) { print(line) }
    }

    /// "open", "open (reopened 2×)", "closed by a person", "closed by Vectis".
    public static func state(_ ticket: TicketView) -> String {
        var text = ticket.state.rawValue
        if let closer = ticket.closedBy, ticket.state == .closed { text += closer == .person ? " by a person" : " by Vectis" }
        if ticket.reopens > 0 { text += " (reopened \(ticket.reopens)×)" }
        if let replaced = ticket.replacesTicketId { text += " replaces #\(replaced)" }
        return text
    }

    /// What the PSA said when last read: "Closed (deleted) 12:04", or "-" before the first read.
    public static func inPSA(_ ticket: TicketView) -> String {
        guard let checked = ticket.checkedAt else { return "-" }
        let name: String
        switch (ticket.psaStatus, ticket.psaState) {
        case (let status?, let state?) where state == .merged || state == .deleted: name = "\(status) (\(state.rawValue))"
        case (let status?, _): name = status
        case (nil, let state?): name = state.rawValue
        case (nil, nil): name = "?"
        }
        return name + ", read " + BusJSON.formatTimestamp(checked)
    }
}
