import Foundation
import Logging
import ServiceLifecycle
import VectisBus
import VectisContracts

/// Publishes `service.heartbeat` every interval with the latest seq of each topic in the service's stream.
public struct HeartbeatService: Service {
    let service: String
    let instance: String
    let version: String
    let publisher: BusPublisher
    let outbox: Outbox?
    /// With an outbox, its relay publishes the heartbeat after the rows it reports (see `OutboxRelay.post`).
    let relay: OutboxRelay?
    let interval: Duration
    let logger: Logger

    public init(
        service: String, instance: String, version: String, publisher: BusPublisher, outbox: Outbox?,
        relay: OutboxRelay? = nil, interval: Duration, logger: Logger
    ) {
        self.relay = relay
        self.service = service
        self.instance = instance
        self.version = version
        self.publisher = publisher
        self.outbox = outbox
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let started = ContinuousClock.now
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var latest = publisher.latestSeq
            if let outbox, relay == nil {
                do {
                    latest.merge(try await outbox.latestSeq()) { max($0, $1) }
                } catch {
                    logger.warning("heartbeat could not read the outbox", metadata: ["error": "\(error)"])
                }
            }
            let uptime = ContinuousClock.now - started
            let heartbeat = ServiceHeartbeat(
                service: service, instance: instance, stream: publisher.stream, version: version,
                uptimeSeconds: Double(uptime.components.seconds), latestSeq: latest, intervalSeconds: seconds)
            if let relay {
                relay.post(heartbeat)
            } else {
                publisher.publishControl(heartbeat, epoch: outbox?.epoch ?? publisher.memoryEpoch)
            }
            try? await gracefulShutdownAwareSleep(interval)
        }
    }

    private func gracefulShutdownAwareSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown {
            try await Task.sleep(for: duration)
        }
    }
}
