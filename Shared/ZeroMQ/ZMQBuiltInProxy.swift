import CZeroMQ

/// libzmq's own forwarding loop (`zmq_proxy`), which checks nothing. `vectis-bus` does not use it — its loop checks
/// every message before passing it on — but the benchmark runs it beside that loop, on the same machine at the same
/// moment, as the rate a forwarder that does no work of its own reaches.
public enum ZMQBuiltInProxy {
    /// Forwards between the two sockets until their context is shut down, then returns.
    public static func run(frontend: ZMQSocket, backend: ZMQSocket) {
        _ = zmq_proxy(frontend.handle, backend.handle, nil)
    }
}
