import Foundation

// The events published for each failure (an alert raised or updated, a rule's decision) written by hand, as the
// hot bodies are: the same bytes `JSONEncoder` writes (sorted keys, absent optionals left out), a fraction of the
// cost. A property test holds them equal.

extension AlertSubject {
    func write(to writer: inout BusJSONWriter) {
        writer.beginObject()
        writer.field("agentName", agentName)
        writer.field("agentVolume", agentVolume)
        writer.key("customer")
        customer.write(to: &writer)
        writer.field("deviceSerial", deviceSerial)
        writer.endObject()
    }
}

extension AlertSnapshot {
    func write(to writer: inout BusJSONWriter) {
        writer.beginObject()
        writer.field("alertId", alertId)
        writer.field("failedNightsInARow", failedNightsInARow.map(Int64.init))
        writer.field("firstSeenAt", firstSeenAt)
        writer.field("lastError", lastError)
        writer.field("lastSeenAt", lastSeenAt)
        writer.field("occurrences", Int64(occurrences))
        writer.field("severity", severity.rawValue)
        writer.field("state", state.rawValue)
        writer.key("subject")
        subject.write(to: &writer)
        writer.field("type", type)
        writer.endObject()
    }
}

extension AlertRaised: BusJSONEncodable {
    public func busJSON() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.key("alert")
        alert.write(to: &writer)
        writer.endObject()
        return writer.bytes
    }
}

extension AlertUpdated: BusJSONEncodable {
    public func busJSON() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.key("alert")
        alert.write(to: &writer)
        writer.field("reason", reason.rawValue)
        writer.endObject()
        return writer.bytes
    }
}

extension AlertResolved: BusJSONEncodable {
    public func busJSON() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.key("alert")
        alert.write(to: &writer)
        writer.field("reason", reason)
        writer.field("resolvedAt", resolvedAt)
        writer.endObject()
        return writer.bytes
    }
}

extension RuleFired: BusJSONEncodable {
    public func busJSON() -> [UInt8] {
        var writer = BusJSONWriter()
        writer.beginObject()
        writer.field("action", action.rawValue)
        writer.field("alertId", alertId)
        writer.field("alertType", alertType)
        writer.field("detail", detail)
        writer.field("dryRun", dryRun)
        writer.field("failedNightsInARow", failedNightsInARow.map(Int64.init))
        writer.field("ruleId", ruleId)
        writer.field("ruleName", ruleName)
        writer.key("subject")
        subject.write(to: &writer)
        writer.field("subjectId", subjectId)
        writer.field("templateId", templateId)
        writer.endObject()
        return writer.bytes
    }
}
