import Foundation

/// Where each Datto region's API lives.
///
/// Datto publishes one host, `https://api.datto.com/v1`; no public source confirms a separate EU host
/// (docs/collector.md). The `eu` entry is therefore configurable and unverified; operators (and the sandbox)
/// override any entry with `VECTIS_DATTO_BASE_URL_<REGION>`.
public struct DattoRegions: Sendable {
    public var baseURLs: [String: URL]

    public static let known = ["us", "eu"]

    public init(baseURLs: [String: URL] = DattoRegions.defaults) {
        self.baseURLs = baseURLs
    }

    public static let defaults: [String: URL] = [
        "us": URL(string: "https://api.datto.com/v1")!,
        // Unverified: Datto's own material names no EU host; partner accounts are scoped by key.
        "eu": URL(string: "https://api.datto.com/v1")!
    ]

    /// The defaults with `VECTIS_DATTO_BASE_URL_US` / `_EU` applied.
    public static func fromEnvironment(_ values: [String: String]) -> DattoRegions {
        var urls = defaults
        for region in known {
            if let text = values["VECTIS_DATTO_BASE_URL_\(region.uppercased())"], let url = URL(string: text) {
                urls[region] = url
            }
        }
        return DattoRegions(baseURLs: urls)
    }

    public func baseURL(for region: String) -> URL? {
        baseURLs[region.lowercased()]
    }
}
