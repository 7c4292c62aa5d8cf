import Foundation
import VectisContracts

/// Who a device belongs to. Datto puts customer fields on devices only; agents inherit them.
enum CustomerKey {
    static let unassigned = CustomerRef(key: "unassigned", name: "Unassigned")

    /// `org:<organizationId>` when Datto gives one (stable across renames), else `name:<company name>`
    /// normalized (trimmed, lowercased, inner spaces collapsed), else the visible "Unassigned" customer.
    static func of(_ device: DattoDevice) -> CustomerRef {
        let displayName = [device.organizationName, device.clientCompanyName]
            .compactMap { $0?.trimmingCharacters(in: .whitespacesAndNewlines) }
            .first { !$0.isEmpty }
        if let id = device.organizationId {
            return CustomerRef(key: "org:\(id)", name: displayName ?? "Organization \(id)")
        }
        if let name = displayName {
            return CustomerRef(key: "name:\(normalize(name))", name: name)
        }
        return unassigned
    }

    static func normalize(_ name: String) -> String {
        name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }
}
