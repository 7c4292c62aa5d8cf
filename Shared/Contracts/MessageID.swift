import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension UUID {
    /// A random (version 4) UUID for a message id. Every published event gets one, so where the bytes come from
    /// matters: Foundation's `UUID()` and, on glibc 2.36, `arc4random_buf` each make a `getrandom` system call per
    /// id. The ids are drawn from a 4 KiB block of `arc4random_buf` output instead — one call per 256 ids, the same
    /// generator's bytes, each used once.
    public static func randomMessageID() -> UUID {
        var bytes = MessageIDBytes.shared.withLock { $0.next() }
        bytes.6 = (bytes.6 & 0x0F) | 0x40
        bytes.8 = (bytes.8 & 0x3F) | 0x80
        return UUID(uuid: bytes)
    }
}

/// Random bytes handed out 16 at a time, refilled a block at a time.
struct MessageIDBytes: ~Copyable {
    static let shared = Mutex(MessageIDBytes())
    static let blockSize = 4_096

    private var block = [UInt8](repeating: 0, count: blockSize)
    private var used = blockSize

    mutating func next() -> uuid_t {
        if used + 16 > block.count {
            block.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
            used = 0
        }
        var id: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &id) { target in
            block.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[used..<used + 16])) }
        }
        used += 16  // each byte handed out once
        return id
    }
}
