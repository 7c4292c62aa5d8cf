/// Stream epochs: 16 random hex digits.
public enum StreamEpoch {
    public static func make() -> String {
        (0..<8).map { _ in
            let byte = UInt8.random(in: 0...255)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
