/// Where the bus is and how a service's sockets behave on it.
public struct BusConfiguration: Sendable {
    /// `vectis-bus`'s XSUB endpoint: services publish here.
    public var publishEndpoint: String
    /// `vectis-bus`'s XPUB endpoint: services subscribe here.
    public var subscribeEndpoint: String
    /// `vectis-bus`'s capture PUB endpoint: taps read a copy of every frame here.
    public var tapEndpoint: String
    /// Messages queued per socket before libzmq drops (PUB) — lost messages are found again by seq and replay. A
    /// bundle is one message of up to `BusBundle.maxBytes`, so 20,000 bounds a queue near 160 MiB at worst while it
    /// still holds ≈ 250,000 bundled events.
    public var sendHighWaterMark: Int32
    public var receiveHighWaterMark: Int32
    /// A fixed kernel receive buffer (bytes); nil leaves TCP autotuning, which on loopback grows to tens of MiB.
    /// Tests that must lose messages at the socket set it small.
    public var receiveBufferBytes: Int32?
    /// A received message whose frames add up to more than this is dropped and counted.
    public var maxMessageBytes: Int
    public var heartbeatIntervalMilliseconds: Int32
    public var reconnectIntervalMilliseconds: Int32
    public var reconnectIntervalMaxMilliseconds: Int32
    /// Most events handed to the consumer in one batch (one transaction per batch downstream). Large, because a
    /// backlog is cheapest applied in large transactions: a page that many events change (an agent's summary, a
    /// customer's night) is written once per batch, and SQLite writes whole pages.
    public var maxBatchSize: Int
    /// A batch is handed over once its messages add up to this many bytes, however few: with two batches in flight,
    /// what a service holds in memory stays bounded even when every message is near `maxMessageBytes`.
    public var maxBatchBytes: Int = 8 << 20
    /// When the bus runs CURVE: its public key and this peer's key pair (Z85). Nil: plain TCP.
    public var curve: CurveClientKeys?

    public init(
        publishEndpoint: String = "tcp://127.0.0.1:5550",
        subscribeEndpoint: String = "tcp://127.0.0.1:5551",
        tapEndpoint: String = "tcp://127.0.0.1:5552",
        sendHighWaterMark: Int32 = 20_000,
        receiveHighWaterMark: Int32 = 20_000,
        maxMessageBytes: Int = 1 << 20,
        heartbeatIntervalMilliseconds: Int32 = 2_000,
        reconnectIntervalMilliseconds: Int32 = 100,
        reconnectIntervalMaxMilliseconds: Int32 = 5_000,
        maxBatchSize: Int = 2_048
    ) {
        self.publishEndpoint = publishEndpoint
        self.subscribeEndpoint = subscribeEndpoint
        self.tapEndpoint = tapEndpoint
        self.sendHighWaterMark = sendHighWaterMark
        self.receiveHighWaterMark = receiveHighWaterMark
        self.maxMessageBytes = maxMessageBytes
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.reconnectIntervalMilliseconds = reconnectIntervalMilliseconds
        self.reconnectIntervalMaxMilliseconds = reconnectIntervalMaxMilliseconds
        self.maxBatchSize = maxBatchSize
    }
}

/// A bus client's CURVE keys: the bus's public key and its own pair.
public struct CurveClientKeys: Sendable, Equatable {
    public var serverPublicKey: String
    public var publicKey: String
    public var secretKey: String

    public init(serverPublicKey: String, publicKey: String, secretKey: String) {
        self.serverPublicKey = serverPublicKey
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}
