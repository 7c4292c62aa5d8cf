import ArgumentParser
import Foundation
import Logging
import VectisBus
import VectisContracts
import ZeroMQ

// vectis-probe: a test fixture that publishes or subscribes through the real bus library in its own process.

@main
struct Probe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectis-probe", subcommands: [Publish.self, Subscribe.self, OutboxPublish.self, Consume.self])
}

struct Endpoints: ParsableArguments {
    @Option var publishEndpoint = "tcp://127.0.0.1:5550"
    @Option var subscribeEndpoint = "tcp://127.0.0.1:5551"

    var bus: BusConfiguration {
        BusConfiguration(publishEndpoint: publishEndpoint, subscribeEndpoint: subscribeEndpoint)
    }
}

/// Publishes `count` backup runs, numbered by their agent volume, then drains and exits.
struct Publish: AsyncParsableCommand {
    @OptionGroup var endpoints: Endpoints
    @Option var count = 1000
    @Option var stream = "probe/publisher"

    func run() async throws {
        let context = try ZMQContext()
        let publisher = BusPublisher(
            context: context, configuration: endpoints.bus, stream: stream, metrics: BusMetrics(),
            logger: Logger(label: "probe"))
        guard await publisher.waitUntilReady() else { throw ValidationError("bus not reachable") }
        let customer = CustomerRef(key: "org:1", name: "Acme")
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        for index in 0..<count {
            publisher.publish(
                BackupRunObserved(
                    deviceSerial: "SERIAL1", agentVolume: "volume-\(index)", agentName: "server-\(index)",
                    customer: customer, runAt: start.addingTimeInterval(Double(index)), rawStatus: "success"),
                customerKey: customer.key)
        }
        await publisher.close()
    }
}

/// Prints "ready" once subscribed, then one line per message ("<stream> <seq> <topic>") until `count`.
struct Subscribe: AsyncParsableCommand {
    @OptionGroup var endpoints: Endpoints
    @Option(name: .customLong("topic")) var topics: [String] = []
    @Option var count = 1000

    func run() async throws {
        let context = try ZMQContext()
        let subscriber = BusSubscriber(
            context: context, configuration: endpoints.bus, filters: topics.map(TopicFilter.init),
            metrics: BusMetrics(), logger: Logger(label: "probe"))
        guard await subscriber.waitUntilReady() else { throw ValidationError("bus not reachable") }
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        var received = 0
        var output = ""
        for await batch in subscriber.batches {
            for event in batch {
                output += "\(event.header.stream) \(event.header.seq) \(event.topic)\n"
                received += 1
            }
            if received >= count { break }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
        await subscriber.close()
    }
}
