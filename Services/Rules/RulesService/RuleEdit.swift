import Foundation
import GRDB
import VectisAPI
import VectisContracts
import VectisStorage

/// A rule's new contents, checked, with what changed in words for its history (setting names, never values).
struct RuleEdit {
    var name: String
    var settings: PSASettings
    var secrets: PSASecrets
    var threshold: Int
    var closeOnRecovery: Bool
    var action: RuleAction
    var maxRetries: Int
    var whenClosedByPerson: WhenClosedByPerson
    var reopenWindowDays: Int
    var notifyChannels: [Int64]
    var notifyRepeat: Bool
    var changes: [String]
}

struct RuleRefusal: Error {
    let message: String
}

extension RuleEdit {
    /// Why a dry-run length is refused, or nil: a year at most (beyond that, disable the rule instead).
    static func dryRunProblem(_ hours: Double) -> String? {
        hours.isFinite && (0...8_760).contains(hours) ? nil : "dryRunHours must be from 0 to 8760 (a year); to stop a rule, disable it."
    }

    /// What to do about a person's close, as a request names it, or why it is refused.
    static func whenClosedByPerson(_ text: String) -> Result<WhenClosedByPerson, RuleRefusal> {
        guard let policy = WhenClosedByPerson(rawValue: text) else {
            return .failure(RuleRefusal(message: "whenClosedByPerson must be reopen, new-ticket or leave."))
        }
        return .success(policy)
    }

    static func reopenWindowProblem(_ days: Int) -> String? {
        (0...90).contains(days) ? nil : "reopenWindowDays must be from 0 to 90 (0 never reopens)."
    }

    /// The action named in a request, or why it is refused.
    static func action(_ text: String, for template: RuleTemplate) -> Result<RuleAction, RuleRefusal> {
        guard let action = RuleAction(rawValue: text) else {
            return .failure(RuleRefusal(message: "action must be ticket, retry, both or notify."))
        }
        guard template.actions.contains(action) else {
            return .failure(
                RuleRefusal(message: "action must be ticket or notify for \(template.trigger.rawValue): there is no backup to retry."))
        }
        return .success(action)
    }

    /// Why a rule's settings are refused (the same checks for enabling and for editing), or nil.
    static func settingsProblem(
        _ template: RuleTemplate, action: RuleAction, channels: [Int64], settings: PSASettings, secrets: PSASecrets, threshold: Int,
        maxRetries: Int
    ) -> String? {
        guard (1...30).contains(threshold) else { return "thresholdNights must be from 1 to 30." }
        guard (0...10).contains(maxRetries) else { return "maxRetries must be from 0 to 10." }
        // A rule that only notifies never calls the PSA: its connection is not needed.
        guard action != .notify else { return channels.isEmpty ? "action notify needs at least one channel in notifyChannels." : nil }
        let missing = settings.missing(for: template.psa, secrets: secrets)
        guard missing.isEmpty else { return "Missing for \(template.psa.rawValue): \(missing.joined(separator: ", "))." }
        let invalid = settings.invalidAddresses(for: template.psa)
        guard invalid.isEmpty else { return invalid.joined(separator: "; ") + "." }
        return nil
    }

    /// The edit `change` makes to `rule` (nil when it only flips switches), or why it is refused.
    static func make(_ rule: RuleRecord, _ change: RuleChange, secrets box: SecretBox, _ db: Database) throws -> Result<
        RuleEdit?, RuleRefusal
    > {
        guard change.editsRule else { return .success(nil) }
        guard let template = RuleTemplate.all.first(where: { $0.id == rule.templateId }) else {
            return .failure(RuleRefusal(message: "This rule's template no longer exists; enable a new rule."))
        }
        let action: RuleAction
        switch change.action.map({ Self.action($0, for: template) }) ?? .success(rule.action) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let chosen): action = chosen
        }
        let policy: WhenClosedByPerson
        switch change.whenClosedByPerson.map(Self.whenClosedByPerson) ?? .success(rule.whenClosedByPerson) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let chosen): policy = chosen
        }
        var channels = rule.channelIds
        if let given = change.notifyChannels {
            switch try ChannelRecord.resolve(given, tenant: rule.tenant, db) {
            case .failure(let refusal): return .failure(refusal)
            case .success(let ids): channels = ids
            }
        }
        let window = change.reopenWindowDays ?? rule.reopenWindowDays
        if let problem = reopenWindowProblem(window) { return .failure(RuleRefusal(message: problem)) }
        // Settings or secrets that cannot be read (the key file was replaced) are simply entered again.
        let oldSettings = (try? rule.psaSettings()) ?? PSASettings()
        let oldSecrets = (try? rule.psaSecrets(box)) ?? PSASecrets()
        let name = change.name.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } ?? rule.name
        let edit = RuleEdit(
            name: name, settings: change.settings ?? oldSettings, secrets: try overlay(oldSecrets, change.secrets),
            threshold: change.thresholdNights ?? rule.thresholdNights, closeOnRecovery: change.closeOnRecovery ?? rule.closeOnRecovery,
            action: action, maxRetries: change.maxRetries ?? rule.maxRetries, whenClosedByPerson: policy, reopenWindowDays: window,
            notifyChannels: channels, notifyRepeat: change.notifyRepeat ?? rule.notifyRepeat, changes: [])
        if let problem = settingsProblem(
            template, action: edit.action, channels: edit.notifyChannels, settings: edit.settings, secrets: edit.secrets,
            threshold: edit.threshold, maxRetries: edit.maxRetries)
        {
            return .failure(RuleRefusal(message: problem))
        }
        if change.settings != nil, edit.action != .notify,
            let problem = PSASettings.secretsNeeded(saved: oldSettings, new: edit.settings, psa: template.psa, given: change.secrets)
        {
            return .failure(RuleRefusal(message: problem + "."))
        }
        var changes: [String] = []
        if edit.name != rule.name { changes.append("renamed \"\(edit.name)\"") }
        let settingNames = changedNames(oldSettings, edit.settings)
        if !settingNames.isEmpty { changes.append("settings changed: \(settingNames.joined(separator: ", "))") }
        let secretNames = changedNames(oldSecrets, edit.secrets)
        if !secretNames.isEmpty { changes.append("secrets replaced: \(secretNames.joined(separator: ", "))") }
        if edit.threshold != rule.thresholdNights { changes.append("threshold \(rule.thresholdNights) → \(edit.threshold)") }
        if edit.action != rule.action { changes.append("action \(rule.action.rawValue) → \(edit.action.rawValue)") }
        if edit.maxRetries != rule.maxRetries { changes.append("max retries \(rule.maxRetries) → \(edit.maxRetries)") }
        if edit.whenClosedByPerson != rule.whenClosedByPerson {
            changes.append("when closed by a person \(rule.whenClosedByPerson.rawValue) → \(edit.whenClosedByPerson.rawValue)")
        }
        if edit.reopenWindowDays != rule.reopenWindowDays {
            changes.append("reopen window \(rule.reopenWindowDays) → \(edit.reopenWindowDays) days")
        }
        if edit.notifyChannels != rule.channelIds {
            let names = edit.notifyChannels.map(ChannelRecord.publicId)
            changes.append(names.isEmpty ? "notifies no channel" : "notifies \(names.joined(separator: ", "))")
        }
        if edit.notifyRepeat != rule.notifyRepeat {
            changes.append(edit.notifyRepeat ? "notifies each further night" : "notifies on open and recovery only")
        }
        if edit.closeOnRecovery != rule.closeOnRecovery {
            changes.append(edit.closeOnRecovery ? "closes tickets on recovery" : "notes recovery, leaves the ticket open")
        }
        var result = edit
        result.changes = changes
        return .success(result)
    }
}
