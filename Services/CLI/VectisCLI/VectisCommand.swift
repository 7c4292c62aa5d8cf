import ArgumentParser

/// `vectis`: the operator's command line.
public struct VectisCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vectis",
        abstract: "Operate the Vectis Datto bus.",
        subcommands: [
            TapCommand.self, DattoCommand.self, CustomersCommand.self, HubCommand.self, AlertsCommand.self, RulesCommand.self,
            TicketsCommand.self, HealthcheckCommand.self, KeysCommand.self, DeadLettersCommand.self, GridCommand.self,
            ReportCommand.self, ChannelsCommand.self
        ])

    public init() {}
}
