/// Tenant shards on the wire. Every tenant-scoped event's topic frame carries its tenant's bucket —
/// `backup.run.observed@17` — so a replica that owns some tenants subscribes only to their buckets and the bus
/// (libzmq filters at the publisher side of each connection) never sends it the others.
///
/// 64 buckets, two digits, so no bucket's subscription is a byte prefix of another's. A replica `i/n` owns the
/// buckets `b` with `b % n == i - 1`.
public enum Shard {
    public static let buckets = 64

    public static func bucket(tenant: String) -> Int {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in tenant.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int(value % UInt64(buckets))
    }

    public static func suffix(_ bucket: Int) -> String {
        bucket < 10 ? "@0\(bucket)" : "@\(bucket)"
    }

    /// The topic frame for an event of `topic` about `tenant`.
    public static func wireTopic(_ topic: String, tenant: String) -> String {
        topic + suffix(bucket(tenant: tenant))
    }

    /// `backup.run.observed@17` → `backup.run.observed`.
    public static func baseTopic(_ wire: String) -> String {
        guard let at = wire.lastIndex(of: "@") else { return wire }
        return String(wire[..<at])
    }

    /// Which buckets replica `index` of `count` owns (index from 1).
    public static func owned(index: Int, of count: Int) -> [Int] {
        (0..<buckets).filter { $0 % count == index - 1 }
    }
}
