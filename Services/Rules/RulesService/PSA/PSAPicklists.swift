import Foundation
import VectisAPI
import VectisContracts

/// What the PSA offers for a rule's settings, read live: boards, queues, statuses, priorities and ticket types
/// differ per PSA tenant, so typing ids from memory is how tickets end up on the wrong board.
struct PSAPicklists: Codable, Sendable, Equatable {
    /// Choices per setting name (`boardId`, `statusId`, …); a setting absent here is typed by hand.
    var fields: [String: [PSAChoice]]
    var companies: [PSACompany]
    /// True when the PSA had more companies than are read (`maxCompanyPages`): the rest can still be typed as ids.
    var companiesTruncated: Bool

    /// Companies are read in large pages, at most this many (about 5,000 companies; 10 pages of Autotask's 500),
    /// so one click costs a handful of calls from the account's request budget.
    static let maxCompanyPages = 5
}

extension PSAChoice {
    /// Reads `{"id": 3, "name": "Help Desk"}`-like objects; `idKeys`/`nameKeys` name the PSA's own fields.
    /// Entries without a usable id are skipped; the same id twice (e.g. Halo priorities per SLA) is kept once.
    static func list(_ answer: Any?, idKeys: [String] = ["id"], nameKeys: [String] = ["name"]) -> [PSAChoice] {
        var seen = Set<Int>()
        return ((answer as? [[String: Any]]) ?? []).compactMap { object -> PSAChoice? in
            guard let id = idKeys.lazy.compactMap({ PSAChoice.int(object[$0]) }).first, seen.insert(id).inserted else { return nil }
            let name = nameKeys.lazy.compactMap { object[$0] as? String }.first ?? "#\(id)"
            return PSAChoice(id: id, name: name)
        }
    }

    static func int(_ value: Any?) -> Int? {
        switch value {
        case let number as Int: number
        // Exactly, or not at all: `intValue` of 1e300 is not an id (and converting a double out of range traps).
        case let number as Double: Int(exactly: number)
        case let text as String: Int(text.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }
}
