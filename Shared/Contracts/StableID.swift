/// Ids that every service derives the same way from natural keys, so the assets service's customer
/// `c_…` is the backups service's customer `c_…` without either reading the other's database.
public enum StableID {
    /// `c_` + 16 hex digits of FNV-1a over (tenant, customer key).
    public static func customer(tenant: String, key: String) -> String {
        "c_" + hash([tenant, key])
    }

    /// `a_` + 16 hex digits of FNV-1a over (tenant, device serial, volume).
    public static func agent(tenant: String, deviceSerial: String, volume: String) -> String {
        "a_" + hash([tenant, deviceSerial, volume])
    }

    /// `d_` + 16 hex digits of FNV-1a over (tenant, device serial): the subject of a device-wide condition.
    public static func device(tenant: String, serial: String) -> String {
        "d_" + hash([tenant, serial])
    }

    static func hash(_ parts: [String]) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for (index, part) in parts.enumerated() {
            if index > 0 { value = (value ^ 0x1F) &* 0x0000_0100_0000_01B3 }  // a separator no key contains
            for byte in part.utf8 { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
