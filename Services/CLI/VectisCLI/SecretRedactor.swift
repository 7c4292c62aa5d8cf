import Foundation

/// Replaces the value of any field whose name contains secret, password, token or privateKey with `"***"`,
/// at any depth. Nothing the tap prints can leak a key, even if a service puts one on the bus by mistake.
public enum SecretRedactor {
    static let markers = ["secret", "password", "token", "privatekey"]

    public static func isSecretField(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return markers.contains { lowered.contains($0) }
    }

    public static func redact(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            var copy: [String: Any] = [:]
            for (key, inner) in object {
                copy[key] = isSecretField(key) ? "***" : redact(inner)
            }
            return copy
        }
        if let array = value as? [Any] {
            return array.map(redact)
        }
        return value
    }

    /// Parses `bytes` as JSON and redacts it; `nil` when the bytes are not JSON.
    public static func redactedJSON(_ bytes: [UInt8]) -> Any? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else {
            return nil
        }
        return redact(value)
    }
}
