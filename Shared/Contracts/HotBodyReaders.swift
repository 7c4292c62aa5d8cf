import Foundation

// The bodies on every backup run's path read by hand (`BusJSONReader`): `backup.run.observed`, `backup.job.recorded`
// and `rule.fired`; anything the reader does not take goes to `JSONDecoder`, so both accept the same messages with the
// same values (property tests hold them equal).

extension CustomerRef {
    static func read(_ reader: inout BusJSONReader) -> CustomerRef? {
        var key: String?
        var name: String?
        let read = reader.readObject { reader, field in
            switch field {
            case "key":
                key = reader.readString()
                return key != nil
            case "name":
                name = reader.readString()
                return name != nil
            default: return false
            }
        }
        guard read, let key, let name else { return nil }
        return CustomerRef(key: key, name: name)
    }
}

extension BackupVerification {
    static func read(_ reader: inout BusJSONReader) -> BackupVerification? {
        var localStatus: String??
        var localErrors: [Problem]?
        var screenshotStatus: String??
        var screenshotImageURL: String??
        let read = reader.readObject { reader, field in
            switch field {
            case "localStatus":
                localStatus = reader.readOptionalString()
                return localStatus != nil
            case "screenshotStatus":
                screenshotStatus = reader.readOptionalString()
                return screenshotStatus != nil
            case "screenshotImageURL":
                screenshotImageURL = reader.readOptionalString()
                return screenshotImageURL != nil
            case "localErrors":
                var problems: [Problem] = []
                let read = reader.readArray { reader in
                    guard let problem = Problem.read(&reader) else { return false }
                    problems.append(problem)
                    return true
                }
                localErrors = problems
                return read
            default:
                return false
            }
        }
        guard read, let localErrors else { return nil }
        return BackupVerification(
            localStatus: localStatus ?? nil, localErrors: localErrors, screenshotStatus: screenshotStatus ?? nil,
            screenshotImageURL: screenshotImageURL ?? nil)
    }
}

extension BackupVerification.Problem {
    static func read(_ reader: inout BusJSONReader) -> Self? {
        var type: String??
        var message: String??
        let read = reader.readObject { reader, field in
            switch field {
            case "type":
                type = reader.readOptionalString()
                return type != nil
            case "message":
                message = reader.readOptionalString()
                return message != nil
            default:
                return false
            }
        }
        guard read else { return nil }
        return Self(type: type ?? nil, message: message ?? nil)
    }
}

extension BackupRunObserved: BusJSONDecodable {
    public init?(plainJSON bytes: [UInt8]) {
        var deviceSerial: String?
        var agentVolume: String?
        var agentName: String?
        var customer: CustomerRef?
        var runAt: Date?
        var rawStatus: String?
        var errorMessage: String??
        var sizeBytes: Int64??
        var verification: BackupVerification??
        var kind: DattoAgentSeen.Kind??
        var reader = BusJSONReader(bytes)
        let read = reader.readObject { reader, field in
            switch field {
            case "deviceSerial":
                deviceSerial = reader.readString()
                return deviceSerial != nil
            case "agentVolume":
                agentVolume = reader.readString()
                return agentVolume != nil
            case "agentName":
                agentName = reader.readString()
                return agentName != nil
            case "customer":
                customer = CustomerRef.read(&reader)
                return customer != nil
            case "runAt":
                runAt = reader.readDate()
                return runAt != nil
            case "rawStatus":
                rawStatus = reader.readString()
                return rawStatus != nil
            case "errorMessage":
                errorMessage = reader.readOptionalString()
                return errorMessage != nil
            case "sizeBytes":
                sizeBytes = reader.readOptionalInteger()
                return sizeBytes != nil
            case "verification":
                verification = reader.readNull() ? .some(nil) : BackupVerification.read(&reader).map { .some($0) }
                return verification != nil
            case "kind":
                kind = reader.readNull() ? .some(nil) : reader.readString().flatMap(DattoAgentSeen.Kind.init(rawValue:)).map { .some($0) }
                return kind != nil
            default:
                return false
            }
        }
        guard read, reader.atEnd(), let deviceSerial, let agentVolume, let agentName, let customer, let runAt, let rawStatus else {
            return nil
        }
        self.init(
            deviceSerial: deviceSerial, agentVolume: agentVolume, agentName: agentName, customer: customer, runAt: runAt,
            rawStatus: rawStatus, errorMessage: errorMessage ?? nil, sizeBytes: sizeBytes ?? nil, verification: verification ?? nil,
            kind: kind ?? nil)
    }
}

extension BackupJobRecorded: BusJSONDecodable {
    public init?(plainJSON bytes: [UInt8]) {
        var jobId: Int64?
        var deviceSerial: String?
        var agentVolume: String?
        var agentName: String?
        var customer: CustomerRef?
        var runAt: Date?
        var status: Status?
        var rawStatus: String?
        var errorMessage: String??
        var sizeBytes: Int64??
        var night: String?
        var failedNightsInARow: Int?
        var lastSuccessAt: Date??
        var lastFailureAt: Date??
        var lastFailureMessage: String??
        var currentlyFailing: Bool??
        var lastRunAt: Date??
        var reader = BusJSONReader(bytes)
        let read = reader.readObject { reader, field in
            switch field {
            case "jobId":
                jobId = reader.readInteger()
                return jobId != nil
            case "deviceSerial":
                deviceSerial = reader.readString()
                return deviceSerial != nil
            case "agentVolume":
                agentVolume = reader.readString()
                return agentVolume != nil
            case "agentName":
                agentName = reader.readString()
                return agentName != nil
            case "customer":
                customer = CustomerRef.read(&reader)
                return customer != nil
            case "runAt":
                runAt = reader.readDate()
                return runAt != nil
            case "status":
                status = reader.readString().flatMap(Status.init(rawValue:))
                return status != nil
            case "rawStatus":
                rawStatus = reader.readString()
                return rawStatus != nil
            case "night":
                night = reader.readString()
                return night != nil
            case "failedNightsInARow":
                failedNightsInARow = reader.readInteger().flatMap { Int(exactly: $0) }
                return failedNightsInARow != nil
            case "errorMessage":
                errorMessage = reader.readOptionalString()
                return errorMessage != nil
            case "sizeBytes":
                sizeBytes = reader.readOptionalInteger()
                return sizeBytes != nil
            case "lastSuccessAt":
                lastSuccessAt = reader.readOptionalDate()
                return lastSuccessAt != nil
            case "lastFailureAt":
                lastFailureAt = reader.readOptionalDate()
                return lastFailureAt != nil
            case "lastFailureMessage":
                lastFailureMessage = reader.readOptionalString()
                return lastFailureMessage != nil
            case "currentlyFailing":
                currentlyFailing = reader.readOptionalBool()
                return currentlyFailing != nil
            case "lastRunAt":
                lastRunAt = reader.readOptionalDate()
                return lastRunAt != nil
            default:
                return false
            }
        }
        guard read, reader.atEnd(), let jobId, let deviceSerial, let agentVolume, let agentName, let customer, let runAt, let status,
            let rawStatus, let night, let failedNightsInARow
        else { return nil }
        self.init(
            jobId: jobId, deviceSerial: deviceSerial, agentVolume: agentVolume, agentName: agentName, customer: customer, runAt: runAt,
            status: status, rawStatus: rawStatus, errorMessage: errorMessage ?? nil, sizeBytes: sizeBytes ?? nil, night: night,
            failedNightsInARow: failedNightsInARow, lastSuccessAt: lastSuccessAt ?? nil, lastFailureAt: lastFailureAt ?? nil,
            lastFailureMessage: lastFailureMessage ?? nil, currentlyFailing: currentlyFailing ?? nil, lastRunAt: lastRunAt ?? nil)
    }
}

extension AlertSubject {
    static func read(_ reader: inout BusJSONReader) -> AlertSubject? {
        var customer: CustomerRef?
        var deviceSerial: String?
        var agentVolume: String??
        var agentName: String??
        let read = reader.readObject { reader, field in
            switch field {
            case "customer":
                customer = CustomerRef.read(&reader)
                return customer != nil
            case "deviceSerial":
                deviceSerial = reader.readString()
                return deviceSerial != nil
            case "agentVolume":
                agentVolume = reader.readOptionalString()
                return agentVolume != nil
            case "agentName":
                agentName = reader.readOptionalString()
                return agentName != nil
            default:
                return false
            }
        }
        guard read, let customer, let deviceSerial else { return nil }
        return AlertSubject(customer: customer, deviceSerial: deviceSerial, agentVolume: agentVolume ?? nil, agentName: agentName ?? nil)
    }
}

// `rule.fired` goes back to the alerts service for every decision (a remark on the alert).
extension RuleFired: BusJSONDecodable {
    public init?(plainJSON bytes: [UInt8]) {
        var ruleId: String?
        var ruleName: String?
        var templateId: String?
        var action: Action?
        var subject: AlertSubject?
        var alertId: String??
        var failedNightsInARow: Int??
        var dryRun: Bool?
        var detail: String??
        var alertType: String??
        var subjectId: String??
        var reader = BusJSONReader(bytes)
        let read = reader.readObject { reader, field in
            switch field {
            case "ruleId":
                ruleId = reader.readString()
                return ruleId != nil
            case "ruleName":
                ruleName = reader.readString()
                return ruleName != nil
            case "templateId":
                templateId = reader.readString()
                return templateId != nil
            case "action":
                action = reader.readString().flatMap(Action.init(rawValue:))
                return action != nil
            case "subject":
                subject = AlertSubject.read(&reader)
                return subject != nil
            case "alertId":
                alertId = reader.readOptionalString()
                return alertId != nil
            case "failedNightsInARow":
                failedNightsInARow = reader.readNull() ? .some(nil) : reader.readInteger().flatMap { Int(exactly: $0) }.map { .some($0) }
                return failedNightsInARow != nil
            case "dryRun":
                dryRun = reader.readBool()
                return dryRun != nil
            case "detail":
                detail = reader.readOptionalString()
                return detail != nil
            case "alertType":
                alertType = reader.readOptionalString()
                return alertType != nil
            case "subjectId":
                subjectId = reader.readOptionalString()
                return subjectId != nil
            default:
                return false
            }
        }
        guard read, reader.atEnd(), let ruleId, let ruleName, let templateId, let action, let subject, let dryRun else { return nil }
        self.init(
            ruleId: ruleId, ruleName: ruleName, templateId: templateId, action: action, subject: subject, alertId: alertId ?? nil,
            failedNightsInARow: failedNightsInARow ?? nil, dryRun: dryRun, detail: detail ?? nil, alertType: alertType ?? nil,
            subjectId: subjectId ?? nil)
    }
}
