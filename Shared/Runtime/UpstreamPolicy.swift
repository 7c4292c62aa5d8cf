import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the services' outbound calls (PSA APIs, the retry hook) may go.
///
/// A PSA address is typed by whoever holds the admin token, so it must not become a way to reach what only the
/// host can reach (the other services on loopback, a cloud metadata address, the office network). Calls to
/// loopback, link-local, private, shared (CGNAT), ULA, multicast and unspecified addresses are refused unless
/// `VECTIS_ALLOW_PRIVATE_UPSTREAMS=1` says otherwise (`make run` sets it: its sandboxes are on loopback).
/// The host is resolved again before every call, so a name that later resolves inward is refused then.
public struct UpstreamPolicy: Sendable, Equatable {
    public var allowPrivateAddresses: Bool

    public init(allowPrivateAddresses: Bool = false) {
        self.allowPrivateAddresses = allowPrivateAddresses
    }

    public init(environment: Environment) throws {
        self.init(allowPrivateAddresses: try environment.bool("VECTIS_ALLOW_PRIVATE_UPSTREAMS", default: false))
    }

    /// What is wrong with `text` as a base address (nil when usable): http(s), a host, at most 2,048 characters,
    /// no user name or password, no query and no fragment (a base address is extended with paths; `?x=` or `#`
    /// would turn the path the service adds into a parameter).
    public static func baseAddressProblem(_ text: String) -> String? {
        guard text.utf8.count <= 2_048, let components = URLComponents(string: text) else { return "is not a URL" }
        guard let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme) else { return "must start with https://" }
        guard let host = components.host, !host.isEmpty else { return "has no host" }
        if components.user != nil || components.password != nil { return "must not hold a user name or password" }
        if components.query != nil { return "must not hold a query (?…)" }
        if components.fragment != nil { return "must not hold a fragment (#…)" }
        return nil
    }

    /// `base` (a checked base address) with `path` appended as path segments, and `query` as its query.
    public static func url(_ base: String, appending path: String, query: [URLQueryItem] = []) -> URL? {
        guard baseAddressProblem(base) == nil, var components = URLComponents(string: base) else { return nil }
        let trimmed =
            components.percentEncodedPath.hasSuffix("/") ? String(components.percentEncodedPath.dropLast()) : components.percentEncodedPath
        let added = path.split(separator: "/", omittingEmptySubsequences: false).map {
            String($0).addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? ""
        }.joined(separator: "/")
        components.percentEncodedPath = trimmed + (added.hasPrefix("/") ? added : "/" + added)
        if !query.isEmpty { components.queryItems = query }
        return components.url
    }

    /// Why a call to `url` must not be made (nil when it may): not http(s), credentials in the URL, or a host that
    /// is, or resolves to, an address inside the host's own networks.
    public func refusal(for url: URL) -> String? {
        guard let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme) else { return "only http(s) addresses are called" }
        guard let host = url.host, !host.isEmpty else { return "the address has no host" }
        if url.user != nil || url.password != nil { return "the address holds a user name or password" }
        return refusal(host: host)
    }

    /// Why a connection to `host` (a name or an address, IPv6 in brackets or not) must not be made: it is, or
    /// resolves to, an address inside the host's own networks (nil when it may). For what is not HTTP (SMTP).
    public func refusal(host: String) -> String? {
        if allowPrivateAddresses { return nil }
        if case .failure(let refusal) = checkedAddress(host: host) { return refusal.reason }
        return nil
    }

    public struct Refusal: Error, Sendable {
        public let reason: String
    }

    /// The address to connect to for `host`, checked as `refusal(host:)` checks it. Connecting to this address rather
    /// than resolving the name again means a name that turns inward a moment later (DNS rebinding) is not reached.
    public func checkedAddress(host: String) -> Result<String, Refusal> {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses = Self.resolve(bare)
        guard let first = addresses.first else { return .failure(Refusal(reason: "\(host) does not resolve")) }
        if !allowPrivateAddresses, let inward = addresses.first(where: { !Self.isPublic($0) }) {
            return .failure(
                Refusal(
                    reason:
                        "\(host) is a private address (\(inward)); calls stay off loopback and private networks unless VECTIS_ALLOW_PRIVATE_UPSTREAMS=1"
                ))
        }
        return .success(first)
    }

    /// Every address `host` resolves to, as text.
    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var result: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = entry.pointee.ai_addr,
                getnameinfo(address, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0
            {
                result.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }

    /// Whether a numeric address is on the public internet (not loopback, private, link-local, shared, ULA,
    /// multicast, documentation or unspecified). Text that is not an address counts as not public.
    public static func isPublic(_ address: String) -> Bool {
        let text = address.split(separator: "%").first.map(String.init) ?? address
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return isPublicV4(UInt32(bigEndian: v4.s_addr))
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses are judged as IPv4.
        if bytes[0..<10].allSatisfy({ $0 == 0 }), (bytes[10] == 0xff && bytes[11] == 0xff) || (bytes[10] == 0 && bytes[11] == 0) {
            let value = bytes[12...15].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if bytes[10] == 0 && value <= 1 { return false }  // :: and ::1
            return isPublicV4(value)
        }
        if bytes[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link-local
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return false }  // fec0::/10 site-local (deprecated)
        if bytes[0] == 0xff { return false }  // multicast
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return false }  // documentation
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b { return false }  // NAT64 of anything
        return true
    }

    static func isPublicV4(_ value: UInt32) -> Bool {
        func within(_ prefix: UInt32, _ bits: UInt32) -> Bool { value >> (32 - bits) == prefix >> (32 - bits) }
        let inward: [(UInt32, UInt32)] = [
            (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
            (0x0A00_0000, 8),  // 10/8
            (0x6440_0000, 10),  // 100.64/10 shared (CGNAT)
            (0x7F00_0000, 8),  // 127/8 loopback
            (0xA9FE_0000, 16),  // 169.254/16 link-local (cloud metadata)
            (0xAC10_0000, 12),  // 172.16/12
            (0xC000_0000, 24),  // 192.0.0/24 protocol assignments
            (0xC000_0200, 24),  // 192.0.2/24 documentation
            (0xC0A8_0000, 16),  // 192.168/16
            (0xC612_0000, 15),  // 198.18/15 benchmarking
            (0xC633_6400, 24),  // 198.51.100/24 documentation
            (0xCB00_7100, 24),  // 203.0.113/24 documentation
            (0xE000_0000, 4),  // multicast
            (0xF000_0000, 4)  // reserved and broadcast
        ]
        return !inward.contains { within($0.0, $0.1) }
    }
}

/// The text of an upstream's answer made safe to keep: anything that looks like a credential, and every value
/// the call itself sent as a secret, is replaced by `***`, control characters go, and the length is capped.
/// Applied before an answer reaches a log, an API response or the append-only audit (which cannot forget).
public enum UpstreamText {
    public static let maxCharacters = 300

    public static func sanitized(_ text: String, secrets: [String] = []) -> String {
        var result = text
        // The exact values sent (an Authorization header, a client secret), longest first so parts of a longer one
        // are not left behind.
        for secret in Set(secrets.filter { $0.count >= 4 }).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: secret, with: "***")
        }
        for pattern in [
            #"(?i)\b(basic|bearer|digest|negotiate)\s+(?=[A-Za-z0-9+/=._~-]*[0-9+/=])[A-Za-z0-9+/=._~-]{8,}"#,
            #"(?i)("?(authorization|password|secret|client_secret|privatekey|private_key|apiintegrationcode|access_token|refresh_token|api[-_]?key)"?\s*[:=]\s*)"?[^\s",;&}]+"?"#
        ] {
            result = result.replacingOccurrences(of: pattern, with: "$1 ***", options: .regularExpression)
        }
        let printable = String(
            String.UnicodeScalarView(
                result.unicodeScalars.map {
                    $0.properties.generalCategory == .control ? " " : $0
                }))
        return printable.count > maxCharacters ? String(printable.prefix(maxCharacters)) + "…" : printable
    }
}
