import Foundation
import GRDB

/// The body of `PATCH /v1/rules/{id}`: the switches (enabled, dry run) and edits of what the rule does. Editing in
/// place keeps the rule's tickets and history: a rotated PSA key or a new board must not orphan open tickets (a
/// replacement rule would open a second ticket for every problem still failing).
struct RuleChange: Decodable {
    var enabled: Bool?
    var dryRunHours: Double?
    var name: String?
    /// Replaces the settings as a whole, so an optional one (a priority) can be cleared.
    var settings: PSASettings?
    /// Only the secrets given are replaced; absent or blank ones keep their saved value.
    var secrets: PSASecrets?
    var thresholdNights: Int?
    var closeOnRecovery: Bool?
    var action: String?
    var maxRetries: Int?

    var editsRule: Bool {
        name != nil || settings != nil || secrets != nil || thresholdNights != nil || closeOnRecovery != nil || action != nil
            || maxRetries != nil
    }
}

/// A rule's new contents, checked, with what changed in words for its history (setting names, never values).
struct RuleEdit {
    var name: String
    var settings: PSASettings
    var secrets: PSASecrets
    var threshold: Int
    var closeOnRecovery: Bool
    var action: String
    var maxRetries: Int
    var changes: [String]
}

struct RuleRefusal: Error {
    let message: String
}

extension RulesController {
    /// The edit `change` makes to the rule in `row` (nil when it only flips switches), or why it is refused.
    func edited(_ row: Row, _ change: RuleChange) throws -> Result<RuleEdit?, RuleRefusal> {
        guard change.editsRule else { return .success(nil) }
        guard let template = RuleTemplate.all.first(where: { $0.id == row["template_id"] as String }) else {
            return .failure(RuleRefusal(message: "This rule's template no longer exists; enable a new rule."))
        }
        let oldSettings = (try? JSONDecoder().decode(PSASettings.self, from: Data((row["settings"] as String).utf8))) ?? PSASettings()
        // Secrets that cannot be opened (the key file was replaced) are simply entered again.
        let oldSecrets =
            (try? JSONDecoder().decode(PSASecrets.self, from: Data(try secrets.open(row["secrets_sealed"]).utf8))) ?? PSASecrets()
        let name = change.name.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? row["name"]
        let edit = RuleEdit(
            name: name, settings: change.settings ?? oldSettings, secrets: try overlay(oldSecrets, change.secrets),
            threshold: change.thresholdNights ?? row["threshold_nights"],
            closeOnRecovery: change.closeOnRecovery ?? row["close_on_recovery"],
            action: change.action ?? row["action"], maxRetries: change.maxRetries ?? row["max_retries"], changes: [])
        if let problem = Self.settingsProblem(
            template, settings: edit.settings, secrets: edit.secrets, action: edit.action, threshold: edit.threshold,
            maxRetries: edit.maxRetries)
        {
            return .failure(RuleRefusal(message: problem))
        }
        if change.settings != nil,
            let problem = PSASettings.secretsNeeded(saved: oldSettings, new: edit.settings, psa: template.psa, given: change.secrets)
        {
            return .failure(RuleRefusal(message: problem + "."))
        }
        var changes: [String] = []
        if edit.name != row["name"] { changes.append("renamed \"\(edit.name)\"") }
        let settingNames = changedNames(oldSettings, edit.settings)
        if !settingNames.isEmpty { changes.append("settings changed: \(settingNames.joined(separator: ", "))") }
        let secretNames = changedNames(oldSecrets, edit.secrets)
        if !secretNames.isEmpty { changes.append("secrets replaced: \(secretNames.joined(separator: ", "))") }
        let (threshold, action, retries): (Int, String, Int) = (row["threshold_nights"], row["action"], row["max_retries"])
        if edit.threshold != threshold { changes.append("threshold \(threshold) → \(edit.threshold)") }
        if edit.action != action { changes.append("action \(action) → \(edit.action)") }
        if edit.maxRetries != retries { changes.append("max retries \(retries) → \(edit.maxRetries)") }
        if edit.closeOnRecovery != row["close_on_recovery"] {
            changes.append(edit.closeOnRecovery ? "closes tickets on recovery" : "notes recovery, leaves the ticket open")
        }
        var result = edit
        result.changes = changes
        return .success(result)
    }
}
