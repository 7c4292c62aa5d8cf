import Foundation
import VectisAPI
import VectisContracts
import VectisRuntime

extension PSASettings {
    /// Addresses the PSA is reached at that are not usable http(s) URLs, each with what is wrong.
    func invalidAddresses(for psa: PSAKind) -> [String] {
        func check(_ value: String?, _ name: String, example: String) -> String? {
            guard let value, let problem = UpstreamPolicy.baseAddressProblem(value) else { return nil }
            return "\(name) \(problem): give the address alone, such as \(example)"
        }
        var problems: [String] = []
        switch psa {
        case .connectwise:
            problems += [check(site, "site", example: "https://na.myconnectwise.net")].compactMap { $0 }
            if let codebase, codebase.contains(where: { !($0.isLetter || $0.isNumber || "_-./".contains($0)) }) || codebase.contains("..") {
                problems.append("codebase may hold only letters, digits and _ - . / (e.g. v4_6_release/)")
            }
        case .autotask:
            problems += [check(zoneLookupURL, "zoneLookupURL", example: "https://webservices2.autotask.net/atservicesrest/v1.0/")]
                .compactMap { $0 }
        case .halopsa:
            problems += [check(instanceURL, "instanceURL", example: "https://yourcompany.halopsa.com")].compactMap { $0 }
        }
        return problems
    }

    /// The required fields (`PSAField.fields(for:)`) that are absent or blank, by name.
    func missing(for psa: PSAKind, secrets: PSASecrets) -> [String] {
        func values(_ value: some Encodable) -> [String: Any] {
            (try? JSONEncoder().encode(value)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        }
        let (settings, sealed) = (values(self), values(secrets))
        return PSAField.fields(for: psa).filter(\.required).filter { field in
            switch (field.kind == .secret ? sealed : settings)[field.name] {
            case nil, is NSNull: true
            case let text as String: text.trimmingCharacters(in: .whitespaces).isEmpty
            default: false
            }
        }.map(\.name)
    }
}

extension PSASettings {
    /// The settings that say where and as whom the PSA is called: the saved secrets belong to these values.
    static func connectionNames(for psa: PSAKind) -> [String] {
        switch psa {
        case .connectwise: ["site", "codebase", "companyId", "publicKey"]
        case .autotask: ["username", "zoneLookupURL"]
        case .halopsa: ["instanceURL", "clientId", "tenant"]
        }
    }

    /// Why `new` may not be used with the saved secrets (nil when it may): saved secrets are write-only, so a
    /// request that points them somewhere else (another site, user or client id) must carry every secret again —
    /// otherwise anyone holding the admin token could have the stored keys sent to an address of their choosing.
    static func secretsNeeded(saved: PSASettings, new: PSASettings, psa: PSAKind, given: PSASecrets?) -> String? {
        let moved = Set(changedNames(saved, new)).intersection(connectionNames(for: psa)).sorted()
        guard !moved.isEmpty else { return nil }
        let secretNames = PSAField.fields(for: psa).filter { $0.kind == .secret }.map(\.name)
        let given = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(given ?? PSASecrets())) as? [String: Any]) ?? [:]
        let absent = secretNames.filter { name in
            (given[name] as? String)?.trimmingCharacters(in: .whitespaces).isEmpty ?? true
        }
        guard !absent.isEmpty else { return nil }
        return "\(moved.joined(separator: ", ")) changed: give \(absent.joined(separator: ", ")) again "
            + "(saved secrets are never sent to a new connection)"
    }
}

/// `base` with every value `top` sets; blank strings count as unset, so an empty secret box keeps the saved secret.
func overlay<T: Codable>(_ base: T, _ top: T?) throws -> T {
    guard let top else { return base }
    func object(_ value: T) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: try JSONEncoder().encode(value)) as? [String: Any] ?? [:]
    }
    var merged = try object(base)
    for (key, value) in try object(top) {
        if let text = value as? String, text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
        merged[key] = value
    }
    return try JSONDecoder().decode(T.self, from: try JSONSerialization.data(withJSONObject: merged))
}

/// The names whose values differ between two settings (or secrets) objects: what an edit's audit line names.
func changedNames<T: Encodable>(_ old: T, _ new: T) -> [String] {
    func object(_ value: T) -> [String: NSObject] {
        ((try? JSONEncoder().encode(value)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: NSObject] }) ?? [:]
    }
    let (before, after) = (object(old), object(new))
    return Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
}
