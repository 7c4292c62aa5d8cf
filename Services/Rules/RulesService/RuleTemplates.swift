import VectisAPI
import VectisContracts

/// The rule templates: the integration guide's three ("Datto backup fails 2+ nights in a row", one per PSA) and
/// the same per PSA for each silent failure. A rule's threshold counts failed nights in a row, or for a silent
/// failure the days it has lasted (day 1 when raised; a nightly backup missed twice is on day 2).
extension RuleTemplate {
    static let all: [RuleTemplate] = RuleTrigger.allCases.flatMap { trigger in
        [PSAKind.connectwise, .autotask, .halopsa].map { template(trigger, $0) }
    }

    static func template(_ trigger: RuleTrigger, _ psa: PSAKind) -> RuleTemplate {
        let (psaName, ticket, note): (String, String, String) =
            switch psa {
            case .connectwise: ("ConnectWise", "one ConnectWise service ticket", "a note")
            case .autotask: ("Autotask", "one Autotask ticket", "a note")
            case .halopsa: ("HaloPSA", "one HaloPSA ticket", "a private action")
            }
        let fields = PSAField.fields(for: psa)
        let zone = psa == .autotask ? " The zone is found from the API user." : ""
        let (slug, title, description, threshold): (String, String, String, Int) =
            switch trigger {
            case .failedNights:
                (
                    "datto-fails-2-nights", "Datto backup fails 2+ nights in a row",
                    "Opens \(ticket) when an agent's backup has failed two nights in a row; adds \(note) on each further failed night and on recovery.",
                    2
                )
            case .backupMissed:
                (
                    "datto-missed-2-nights", "Datto agent missed backups for 2 nights",
                    "Opens \(ticket) when an agent has had no successful backup — and no failed one either — for a second day; adds \(note) each further day and when backups return.",
                    2
                )
            case .deviceOffline:
                (
                    "datto-device-offline", "Datto appliance offline",
                    "Opens \(ticket) per appliance (not per agent) when it stops checking in with Datto; adds \(note) each further day and when it is back.",
                    1
                )
            case .offsiteStale:
                (
                    "datto-offsite-stale", "Datto offsite copies falling behind",
                    "Opens \(ticket) when an agent's latest offsite copy is older than its threshold while newer local backups wait; adds \(note) each further day and when replication catches up.",
                    1
                )
            case .screenshotFailed:
                (
                    "datto-screenshot-failing", "Datto screenshot verification failing",
                    "Opens \(ticket) when an agent's latest screenshot verification failed (the backup may not boot), or none succeeded for days; adds \(note) each further day and when a verification succeeds again.",
                    1
                )
            case .applianceStorage:
                (
                    "datto-appliance-storage", "Datto appliance storage filling up",
                    "Opens \(ticket) per appliance when its local storage passes its threshold (85% by default), with the projected date it is full; adds \(note) each further day and when space is freed.",
                    1
                )
            }
        return RuleTemplate(
            id: "\(slug)-\(psa.rawValue)", name: "\(title) (\(psaName))", psa: psa, trigger: trigger, description: description + zone,
            defaultThresholdNights: threshold, settings: fields.map(\.summary), fields: fields,
            actions: trigger.canRetry ? RuleAction.allCases : [.ticket, .notify])
    }
}
