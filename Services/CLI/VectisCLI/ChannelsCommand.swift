import ArgumentParser
import Foundation
import VectisAPI
import VectisContracts

/// `vectis channels …`: where notifications go besides the PSA (e-mail, Teams, Slack, signed webhooks).
public struct ChannelsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "channels", abstract: "Notification channels: e-mail, Teams, Slack, signed webhooks; test, digest, what was sent.",
        subcommands: [List.self, Add.self, Update.self, Test.self, Digest.self, Remove.self, Sent.self])

    public init() {}

    /// `--settings` as the channel settings object.
    static func settings(_ text: String) throws -> ChannelSettings {
        do {
            return try JSONDecoder().decode(ChannelSettings.self, from: Data(text.utf8))
        } catch {
            throw ValidationError("--settings must be a JSON object of channel settings: \(error)")
        }
    }

    /// The secrets object read from standard input (which keeps a password or a webhook address out of `ps`).
    static func secretsFromStandardInput() throws -> ChannelSecrets {
        guard let line = readLine(), let secrets = try? JSONDecoder().decode(ChannelSecrets.self, from: Data(line.utf8)) else {
            throw ValidationError("--secrets-stdin: standard input must hold the secrets as one JSON object line")
        }
        return secrets
    }

    /// "ok, last sent 2026-11-30T07:30:00Z" or "failing: AUTH: 535 …".
    public static func status(_ channel: ChannelView) -> String {
        var text = channel.status.rawValue
        if channel.status == .failing, let error = channel.lastError { text += ": \(error)" }
        if channel.waiting > 0 { text += " (\(channel.waiting) waiting)" }
        return text
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Channels and how their last delivery went.")
        @OptionGroup var connection: RulesCommand.Connection
        func run() async throws {
            let channels = try await connection.client.call("GET", "/v1/channels", as: ChannelList.self).channels
            if channels.isEmpty {
                print("No channels.")
                return
            }
            let rows = channels.map { channel -> [String] in
                [
                    channel.id, channel.name, channel.kind.rawValue, channel.digestAt.map { "\($0) \(channel.digestTimeZone)" } ?? "-",
                    "\(channel.ratePerHour)/h", ChannelsCommand.status(channel)
                ]
            }
            for line in HubFormatter.table(["Id", "Name", "Kind", "Digest", "Rate", "Status"], rows) { print(line) }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a channel; settings as JSON, secrets (password, webhook address, signing key) on standard input.",
            discussion: """
                email:   --settings '{"smtpHost":"smtp.office365.com","smtpUsername":"vectis@msp.example","from":"vectis@msp.example","to":["noc@msp.example"]}'
                         and {"smtpPassword":"…"} on standard input
                teams:   {"webhookURL":"https://…"} on standard input (--settings '{"teamsFormat":"message-card"}' for a connector)
                slack:   {"webhookURL":"https://hooks.slack.com/services/…"} on standard input
                webhook: {"webhookURL":"https://…","signingSecret":"…"} on standard input
                """)
        @OptionGroup var connection: RulesCommand.Connection
        @Argument(help: "email, teams, slack or webhook.") var kind: String
        @Argument(help: "A name people recognise, e.g. \"NOC Teams\".") var name: String
        @Option(help: "Channel settings as a JSON object.") var settings: String?
        @Flag(help: "Read the secrets JSON object from standard input.") var secretsStdin = false
        @Option(help: "Daily digest at this local time, HH:MM.") var digestAt: String?
        @Option(help: "The digest's IANA time zone, e.g. Europe/Amsterdam (default UTC).") var timeZone: String?
        @Option(help: "Messages per hour at most (default 30); more wait their turn.") var ratePerHour: Int?

        func run() async throws {
            let body = NewChannel(
                name: name, kind: kind, settings: try settings.map(ChannelsCommand.settings),
                secrets: secretsStdin ? try ChannelsCommand.secretsFromStandardInput() : nil, ratePerHour: ratePerHour, digestAt: digestAt,
                digestTimeZone: timeZone)
            let channel = try await connection.client.call("POST", "/v1/channels", body: body, as: ChannelView.self)
            print("Added \(channel.name) as \(channel.id). Try it: vectis channels test \(channel.id)")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a channel: a new password or address (waiting messages then go at once), the digest, the rate.",
            discussion: "--settings replaces all the settings; secrets read with --secrets-stdin replace only those given; "
                + "--digest-at \"\" turns the digest off.")
        @OptionGroup var connection: RulesCommand.Connection
        @Argument(help: "Channel id (ch_…).") var channel: String
        @Option var name: String?
        @Option(help: "All channel settings as a JSON object.") var settings: String?
        @Flag(help: "Read the secrets to replace, a JSON object, from standard input.") var secretsStdin = false
        @Option(help: "HH:MM, or \"\" for none.") var digestAt: String?
        @Option(help: "IANA time zone.") var timeZone: String?
        @Option var ratePerHour: Int?
        @Option(help: "true or false.") var enabled: Bool?

        func run() async throws {
            let change = ChannelChange(
                name: name, settings: try settings.map(ChannelsCommand.settings),
                secrets: secretsStdin ? try ChannelsCommand.secretsFromStandardInput() : nil, ratePerHour: ratePerHour, digestAt: digestAt,
                digestTimeZone: timeZone, enabled: enabled)
            let updated = try await connection.client.call("PATCH", "/v1/channels/\(channel)", body: change, as: ChannelView.self)
            print("Updated \(updated.id) (\(updated.name)): \(ChannelsCommand.status(updated)).")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a test message now; says what the server answered.")
        @OptionGroup var connection: RulesCommand.Connection
        @Argument var channel: String
        func run() async throws {
            let outcome = try await connection.client.call(
                "POST", "/v1/channels/\(channel)/test", body: [String: String](), as: ChannelTestOutcome.self)
            guard outcome.ok else { throw ValidationError("Not delivered: \(outcome.error ?? "no reason given")") }
            print("Delivered a test message to \(channel).")
        }
    }

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send the channel's digest now (besides its daily one).")
        @OptionGroup var connection: RulesCommand.Connection
        @Argument var channel: String
        func run() async throws {
            let queued = try await connection.client.call(
                "POST", "/v1/channels/\(channel)/digest", body: [String: String](), as: NotificationView.self)
            print("Queued \(queued.id): \(queued.title).")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a channel no rule uses.")
        @OptionGroup var connection: RulesCommand.Connection
        @Argument var channel: String
        func run() async throws {
            try await connection.client.send("DELETE", "/v1/channels/\(channel)")
            print("Deleted \(channel).")
        }
    }

    struct Sent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sent", abstract: "Messages sent or waiting, newest first.")
        @OptionGroup var connection: RulesCommand.Connection
        @Option(help: "Only this channel's.") var channel: String?
        @Option(help: "At most this many (1–500).") var limit = 50
        func run() async throws {
            var path = "/v1/notifications?limit=\(limit)"
            if let channel { path += "&channel=\(channel.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? channel)" }
            let list = try await connection.client.call("GET", path, as: NotificationList.self).notifications
            if list.isEmpty {
                print("Nothing sent yet.")
                return
            }
            let rows = list.map { note -> [String] in
                [
                    note.id, note.channelId, note.event.rawValue, note.state.rawValue + (note.lastError.map { ": \($0)" } ?? ""),
                    HubFormatter.short(note.sentAt ?? note.createdAt) ?? "-", note.title
                ]
            }
            for line in HubFormatter.table(["Id", "Channel", "Event", "State", "At", "Title"], rows) { print(line) }
        }
    }
}
