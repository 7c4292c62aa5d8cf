import Foundation
import VectisAPI
import VectisContracts

/// The words of each notification, once, in a neutral shape (`WebhookPayload`) every channel's format is drawn from.
enum NotificationMessages {
    static func problem(
        _ event: NotificationEvent, problem: RuleProblem, customerId: String, ruleId: String, ruleName: String, console: String,
        at now: Date
    ) -> WebhookPayload {
        let (title, text): (String, String)
        switch (event, problem.phase) {
        case (.recovery, .recovered(let note)): (title, text) = ("Recovered: \(problem.name) (\(problem.customer.name))", note)
        case (.recovery, .ended(let note)): (title, text) = ("No longer failing: \(problem.name) (\(problem.customer.name))", note)
        case (.repeat, _): (title, text) = ("Still failing: \(problem.name) (\(problem.customer.name))", problem.stillText)
        default: (title, text) = ("\(problem.summary) (\(problem.customer.name))", problem.details)
        }
        var facts = [
            WebhookPayload.Fact(name: "Customer", value: problem.customer.name),
            WebhookPayload.Fact(name: problem.subject.agentVolume == nil ? "Appliance" : "Agent", value: problem.name),
            WebhookPayload.Fact(name: "Device", value: problem.deviceSerial)
        ]
        if let nights = problem.failedNightsInARow, event != .recovery {
            facts.append(WebhookPayload.Fact(name: "Failed nights in a row", value: String(nights)))
        } else if problem.trigger != .failedNights, event != .recovery {
            facts.append(WebhookPayload.Fact(name: "Days", value: String(problem.count)))
        }
        if let error = problem.error, event != .recovery { facts.append(WebhookPayload.Fact(name: "Error", value: error)) }
        facts.append(WebhookPayload.Fact(name: "Rule", value: "\(ruleName) (\(ruleId))"))
        return WebhookPayload(
            delivery: "", event: event, title: title, text: text, ruleId: ruleId, trigger: problem.trigger.rawValue,
            customerId: customerId, customerName: problem.customer.name, agentName: problem.name, deviceSerial: problem.deviceSerial,
            error: event == .recovery ? nil : problem.error, link: link(console, customer: customerId), facts: facts, customers: nil,
            at: now)
    }

    /// One message listing every customer with failing or missed agents (or saying there is none).
    static func digest(_ problems: [OpenProblems.Entry], day: String, console: String, at now: Date) -> WebhookPayload {
        var customers: [WebhookPayload.DigestCustomer] = []
        for entry in problems {
            let line =
                switch entry.trigger {
                case .backupMissed: "\(entry.subjectName) — missed backups, day \(entry.count)"
                default:
                    "\(entry.subjectName) — failed \(entry.count) night\(entry.count == 1 ? "" : "s") in a row"
                        + (entry.error.map { ": \($0)" } ?? "")
                }
            if customers.last?.customerId == entry.customerId {
                customers[customers.count - 1].problems.append(line)
            } else {
                customers.append(
                    WebhookPayload.DigestCustomer(customerId: entry.customerId, customerName: entry.customerName, problems: [line]))
            }
        }
        let agents = problems.count
        let text =
            customers.isEmpty
            ? "No customer has failing or missed Datto backups."
            : "\(customers.count) customer\(customers.count == 1 ? "" : "s") with \(agents) failing or missed agent\(agents == 1 ? "" : "s")."
                + (agents >= OpenProblems.limit ? " Only the first \(OpenProblems.limit) are listed: the console has them all." : "")
        return WebhookPayload(
            delivery: "", event: .digest, title: "Datto backups digest for \(day)", text: text, ruleId: nil, trigger: nil, customerId: nil,
            customerName: nil, agentName: nil, deviceSerial: nil, error: nil, link: link(console, path: "#/customers"),
            facts: [
                WebhookPayload.Fact(name: "Customers affected", value: String(customers.count)),
                WebhookPayload.Fact(name: "Agents failing or missed", value: String(agents))
            ], customers: customers, at: now)
    }

    static func test(channel: String, console: String, at now: Date) -> WebhookPayload {
        WebhookPayload(
            delivery: "", event: .test, title: "Vectis test message",
            text: "This is a test from Vectis: notifications for Datto backups reach this channel (\(channel)).", ruleId: nil,
            trigger: nil, customerId: nil, customerName: nil, agentName: nil, deviceSerial: nil, error: nil,
            link: link(console, path: "#/notifications"), facts: [], customers: nil, at: now)
    }

    static func link(_ console: String, customer: String) -> String? {
        link(console, path: "#/customers/" + (customer.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? customer))
    }

    static func link(_ console: String, path: String) -> String? {
        console.isEmpty ? nil : (console.hasSuffix("/") ? console : console + "/") + path
    }
}
