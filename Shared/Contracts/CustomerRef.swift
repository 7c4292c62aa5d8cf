/// The end customer a device belongs to, as Datto names it.
///
/// `key` is stable: `org:<organizationId>` when Datto gives an organization id, otherwise
/// `name:<clientCompanyName lowercased>`; `name` is what people read and may change.
public struct CustomerRef: Codable, Sendable, Equatable, Hashable {
    public var key: String
    public var name: String

    public init(key: String, name: String) {
        self.key = key
        self.name = name
    }
}
