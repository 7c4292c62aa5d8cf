import Foundation
import Logging
import Metrics
import Synchronization
import VectisBus
import VectisContracts
import ZeroMQ

/// The ZAP handler (RFC 27) for the bus's CURVE ports: admits a client whose public key is on the allow-list
/// (and not banned), refuses every other, and answers the key's identity as the connection's `User-Id`, which
/// the forwarder reads off every message (`zmq_msg_gets`). It must be bound before the CURVE sockets, in the
/// same context; if it stops, the bus stops (the sockets enforce the domain, so nobody gets in unchecked).
final class ZAPHandler: Sendable {
    static let endpoint = "inproc://zeromq.zap.01"
    let allowed: [String: String]
    let bans: BusBans
    let logger: Logger
    let denied: Counter
    private let stopping = Atomic<Bool>(false)
    /// Set by tests to make the handler's thread fail as a crash in it would.
    private let injectedFailure = Atomic<Bool>(false)
    private let ready = Latch<Bool>()
    private let thread = Mutex<ZMQSocketThread?>(nil)

    init(allowed: [String: String], bans: BusBans, metricsFactory: any MetricsFactory, logger: Logger) {
        self.allowed = allowed
        self.bans = bans
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

    /// False once the handler's thread has ended while the bus was not stopping.
    var isAlive: Bool {
        stopping.load(ordering: .relaxed) || !(thread.withLock { $0 }?.isFinished ?? true)
    }

    /// Ends the handler's thread as a failure would (tests prove the bus then stops instead of failing open).
    func failForTesting() {
        injectedFailure.store(true, ordering: .relaxed)
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
            var logLimiter = LogLimiter(perSecond: 5)
            while !stopping.load(ordering: .relaxed) {
                if injectedFailure.load(ordering: .relaxed) { throw ZMQError(code: 0, operation: "ZAP handler (injected failure)") }
                guard let request = try socket.receiveMessage(), request.count >= 6 else { continue }
                // version, request id, domain, address, routing id, mechanism, credentials…
                let mechanism = String(decoding: request[5], as: UTF8.self)
                let key = request.count >= 7 && mechanism == "CURVE" ? ZMQCurve.z85(request[6]) : nil
                let identity = key.flatMap { allowed[$0] }
                let banned = identity.map { bans.isBanned($0) } ?? false
                let admitted = identity != nil && !banned
                if !admitted {
                    denied.increment()
                    // Refusals are counted always, logged at most a few times a second (a reconnect loop is noisy).
                    if logLimiter.allow() {
                        logger.warning(
                            banned ? "bus refused a banned peer" : "bus refused a peer",
                            metadata: [
                                "address": "\(LogText.cut(String(decoding: request[3], as: UTF8.self)))",
                                "mechanism": "\(LogText.cut(mechanism))", "key": "\(key ?? "none")"
                            ])
                    }
                }
                try socket.send([
                    Array("1.0".utf8), request[1], Array((admitted ? "200" : "400").utf8),
                    Array((admitted ? "OK" : "client key not allowed").utf8), Array((admitted ? identity ?? "" : "").utf8), []
                ])
            }
        } catch let error as ZMQError where error.isTerminated {
        } catch {
            ready.set(false)
            logger.error("ZAP handler failed", metadata: ["error": "\(error)"])
        }
    }
}

/// At most `perSecond` log lines a second.
struct LogLimiter {
    let perSecond: Int
    var windowStart = ContinuousClock.now
    var used = 0

    init(perSecond: Int) { self.perSecond = perSecond }

    mutating func allow() -> Bool {
        if ContinuousClock.now - windowStart >= .seconds(1) {
            windowStart = .now
            used = 0
        }
        used += 1
        return used <= perSecond
    }
}
