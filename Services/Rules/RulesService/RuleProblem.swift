import Foundation
import VectisAPI
import VectisContracts

/// What a rule judges, whatever raised it: an agent's failed nights, or a silent failure of an agent or an
/// appliance. Carries the words the ticket will use.
struct RuleProblem {
    enum Phase {
        /// The problem is on, `count` nights (or days) long.
        case on
        /// Over: backups (check-ins, replication) came back. Closes the ticket when the rule says so.
        case recovered(note: String)
        /// Over for another reason (paused, archived, removed, failing instead of silent): noted, left for a person.
        case ended(note: String)
        case neither
    }

    var trigger: RuleTrigger
    var customer: CustomerRef
    /// The agent (`a_…`), or the appliance (`d_…`).
    var subjectId: String
    var subject: AlertSubject
    var deviceSerial: String
    /// The agent's or appliance's name as people read it.
    var name: String
    /// Failed nights in a row, or days the silent failure has lasted: compared with the rule's threshold.
    var count: Int
    /// One decision per problem per token ("night 2026-11-20", "day 3"), however often it is re-evaluated.
    var token: String
    var phase: Phase
    var summary: String
    /// The new ticket's text (the rule's id is added).
    var details: String
    /// The note for each further night or day.
    var stillText: String
    var failedNightsInARow: Int?
    /// Datto's error message for a failed run, or what the silent failure is ("No successful backup for 2 days").
    var error: String?
    /// For a retry request: a stable id per problem and token; nil when there is no agent to retry.
    var retryId: String?
    var retryReason: String

    /// The closing note when the rule closes the ticket on recovery.
    var closeText: String {
        switch trigger {
        case .failedNights, .backupMissed: "Closed by Vectis: backups recovered."
        case .deviceOffline: "Closed by Vectis: the appliance checks in again."
        case .offsiteStale: "Closed by Vectis: offsite replication caught up."
        case .screenshotFailed: "Closed by Vectis: screenshot verification succeeded again."
        case .applianceStorage: "Closed by Vectis: the appliance's storage is below its threshold again."
        }
    }

    init(_ job: BackupJobRecorded, tenant: String) {
        trigger = .failedNights
        customer = job.customer
        subjectId = StableID.agent(tenant: tenant, deviceSerial: job.deviceSerial, volume: job.agentVolume)
        subject = AlertSubject(
            customer: job.customer, deviceSerial: job.deviceSerial, agentVolume: job.agentVolume, agentName: job.agentName)
        deviceSerial = job.deviceSerial
        name = job.agentName
        count = job.failedNightsInARow
        token = "night \(job.night)"
        if job.status == .failure && (job.currentlyFailing ?? true) {
            phase = .on
        } else if job.status == .success, job.currentlyFailing == false {
            phase = .recovered(note: "Backups of \(job.agentName) recovered: successful run at \(BusJSON.formatTimestamp(job.runAt)).")
        } else {
            phase = .neither
        }
        summary = "Datto backup failing since night \(job.night): \(job.agentName)"
        details = """
            Datto backups of \(job.agentName) on appliance \(job.deviceSerial) (\(job.customer.name)) have failed \
            \(job.failedNightsInARow) nights in a row.
            Last failure: \(BusJSON.formatTimestamp(job.runAt)) — \(job.errorMessage ?? "no error message from Datto").
            Last success: \(job.lastSuccessAt.map(BusJSON.formatTimestamp) ?? "none recorded").
            """
        stillText =
            "Backup of \(job.agentName) still failing: \(job.failedNightsInARow) nights in a row (night \(job.night)). "
            + "Last error: \(job.errorMessage ?? "none reported")."
        failedNightsInARow = job.failedNightsInARow
        error = job.errorMessage
        retryId = "\(job.jobId)"
        retryReason = "\(job.failedNightsInARow) failed nights in a row"
    }

    init(_ condition: BackupConditionChanged, tenant: String) {
        trigger = RuleTrigger(rawValue: condition.kind.rawValue) ?? .backupMissed
        customer = condition.customer
        let agent = condition.agentVolume
        subjectId =
            agent.map { StableID.agent(tenant: tenant, deviceSerial: condition.deviceSerial, volume: $0) }
            ?? StableID.device(tenant: tenant, serial: condition.deviceSerial)
        subject = AlertSubject(
            customer: condition.customer, deviceSerial: condition.deviceSerial, agentVolume: agent, agentName: condition.agentName)
        deviceSerial = condition.deviceSerial
        let appliance = condition.deviceName.map { "\($0) (\(condition.deviceSerial))" } ?? condition.deviceSerial
        name = condition.agentName ?? condition.deviceName ?? condition.deviceSerial
        count = condition.days
        token = "day \(condition.days)"
        switch (condition.change, condition.endReason) {
        case (.started, _), (.continued, _): phase = .on
        case (.ended, .recovered?): phase = .recovered(note: "\(name): \(condition.detail).")
        case (.ended, _): phase = .ended(note: "\(name): \(condition.detail). Left open for a person to decide.")
        }
        let since = BusJSON.formatTimestamp(condition.since)
        let window = "\(condition.thresholdHours.formatted(.number.precision(.fractionLength(0...2)))) h"
        switch condition.kind {
        case .backupMissed:
            summary = "Datto backups missed: \(name)"
            details = """
                \(condition.detail): Datto agent \(name) on appliance \(appliance) (\(condition.customer.name)) has not \
                backed up within its \(window) window, and no failed run arrived either — the agent has gone silent.
                Last successful backup: \(condition.lastGoodAt.map(BusJSON.formatTimestamp) ?? "none recorded (counting from \(since))").
                """
        case .deviceOffline:
            summary = "Datto appliance offline: \(name)"
            details = """
                \(condition.detail): Datto appliance \(appliance) (\(condition.customer.name)) has not checked in since \(since) \
                (threshold \(window)). Its agents' backups cannot be seen until it is back.
                """
        case .offsiteStale:
            summary = "Datto offsite copies behind: \(name)"
            details = """
                \(condition.detail): the latest offsite copy of \(name) on appliance \(appliance) (\(condition.customer.name)) \
                is from \(since) (threshold \(window)) although newer local backups exist: replication has stalled.
                """
        case .screenshotFailed:
            summary = "Datto screenshot verification failing: \(name)"
            details = """
                \(condition.detail): Datto could not boot the latest backup of \(name) on appliance \(appliance) \
                (\(condition.customer.name)) in its screenshot verification. The backups report success, but a restore may \
                not start. Last successful verification: \(condition.lastGoodAt.map(BusJSON.formatTimestamp) ?? "none recorded").
                """
        case .applianceStorage:
            summary = "Datto appliance storage filling up: \(name)"
            details = """
                \(condition.detail): appliance \(appliance) (\(condition.customer.name)). A full appliance skips backups \
                ("not enough free space"): free space, adjust retention, or add storage.
                """
        }
        stillText = "\(name): \(condition.detail) (day \(condition.days))."
        failedNightsInARow = nil
        error = condition.detail
        let subjectId = self.subjectId
        retryId = agent.map { _ in "\(subjectId)_d\(condition.days)" }
        retryReason = condition.detail
    }
}
