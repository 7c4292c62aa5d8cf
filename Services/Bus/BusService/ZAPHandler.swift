import Foundation
import Logging
import Metrics
import Synchronization
import VectisBus
import ZeroMQ

/// The ZAP handler (RFC 27) for the bus's CURVE ports: admits a client whose public key is on the allow-list,
/// refuses every other. It must be bound before the CURVE sockets, in the same context.
final class ZAPHandler: Sendable {
    static let endpoint = "inproc://zeromq.zap.01"
    let allowed: Set<String>
    let logger: Logger
    let denied: Counter
    private let stopping = Atomic<Bool>(false)
    private let ready = Latch<Bool>()
    private let thread = Mutex<ZMQSocketThread?>(nil)

    init(allowed: Set<String>, metricsFactory: any MetricsFactory, logger: Logger) {
        self.allowed = allowed
        self.logger = logger
        denied = Counter(label: "vectis_bus_zap_denied_total", factory: metricsFactory)
    }

    /// Starts answering; returns once the handler is bound.
    func start(context: ZMQContext) -> Bool {
        let handle = ZMQSocketThread.start(name: "bus-zap") { [self] in serve(context: context) }
        thread.withLock { $0 = handle }
        // The proxy thread waits here: a CURVE port must never accept connections before its handler exists.
        while ready.current == nil { Thread.sleep(forTimeInterval: 0.001) }
        return ready.current ?? false
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        _ = thread.withLock { $0 }?.join(timeout: .seconds(1))
    }

    private func serve(context: ZMQContext) {
        do {
            let socket = try ZMQSocket(context: context, type: .rep)
            defer { socket.close() }
            try socket.setLinger(milliseconds: 0)
            try socket.setReceiveTimeout(milliseconds: 100)
            try socket.bind(Self.endpoint)
            ready.set(true)
            while !stopping.load(ordering: .relaxed) {
                guard let request = try socket.receiveMessage(), request.count >= 6 else { continue }
                // version, request id, domain, address, routing id, mechanism, credentials…
                let mechanism = String(decoding: request[5], as: UTF8.self)
                let key = request.count >= 7 && mechanism == "CURVE" ? ZMQCurve.z85(request[6]) : nil
                let admitted = key.map { allowed.contains($0) } ?? false
                if !admitted {
                    denied.increment()
                    logger.warning(
                        "bus refused a peer",
                        metadata: ["address": "\(String(decoding: request[3], as: UTF8.self))", "mechanism": "\(mechanism)",
                                   "key": "\(key ?? "none")"])
                }
                try socket.send([
                    Array("1.0".utf8), request[1], Array((admitted ? "200" : "400").utf8),
                    Array((admitted ? "OK" : "client key not allowed").utf8), Array((key ?? "").utf8), [],
                ])
            }
        } catch let error as ZMQError where error.isTerminated {
        } catch {
            ready.set(false)
            logger.error("ZAP handler failed", metadata: ["error": "\(error)"])
        }
    }
}
