import DattoSandbox
import Foundation
import ServiceLifecycle
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// The Notifications screen and the rule form's channels, in headless Chromium. Part of the console's serialized suite.
extension ConsoleTests {
    @Test(
        "Notifications: a webhook channel added in the console, its Test button delivers and says so; a rule form that only notifies hides the PSA and saves the chosen channel"
    )
    func notificationChannels() async throws {
        let hooks = try WebhookSink()
        let group = ServiceGroup(services: [hooks.application()], gracefulShutdownSignals: [], logger: TestBus.quietLogger)
        try await withRunning(group) {
            #expect(await waitUntilListening(hooks.port))
            try await SystemHarness.with(fleet: NotificationTests.fleet) { harness in
                try await harness.withConsole { console in
                    let browser = try await Browser()
                    do {
                        try await browser.resize(width: 1280, height: 1000)
                        try await browser.signIn(console)
                        try await browser.open(console + "/#/notifications")
                        #expect(try await browser.waitForText("#channels tbody") { $0.contains("No channel yet") }.contains("No channel"))
                        try await browser.element("#channel-add").click()
                        #expect(try await browser.element("select#channel-kind").choose("Signed webhook") == "webhook")
                        try await browser.element("#channel-name").type("Rewst <b>hook</b>")
                        try await browser.element("#channel-webhookURL").type(hooks.url + "/console")
                        try await browser.element("#channel-signingSecret").type(NotifyChannels.signingSecret)
                        try await browser.element("#channel-digest-at").clear()
                        try await browser.element("#channel-digest-at").type("07:30")
                        #expect(try await browser.unlabelledControls() == [])
                        try await browser.screenshot("notifications-add")
                        try await browser.element("#channel-save").click()
                        _ = try await browser.element("#channels tr[data-channel]")
                        let channels = try await harness.rules("/v1/channels", as: ChannelList.self).channels
                        #expect(channels.count == 1)
                        let channel = try #require(channels.first)
                        #expect(
                            channel.kind == .webhook && channel.secretsSet == ["webhookURL", "signingSecret"] && channel.digestAt == "07:30"
                        )
                        let row = "#channels tr[data-channel='\(channel.id)']"
                        #expect(try await browser.element(row).text().contains("Rewst <b>hook</b>"), "the name is shown as text")
                        #expect(
                            try await browser.waitForText("\(row) .channel-status") { $0.contains("Not tried yet") }.contains("Not tried"))

                        try await browser.element("\(row) button[aria-label^='Test']").click()
                        #expect(
                            try await browser.waitForText("#channel-message") { $0.contains("Delivered") }
                                == "Delivered a test message to Rewst <b>hook</b>.")
                        #expect(hooks.requests("/console").count == 1)
                        #expect(try await browser.waitForText("\(row) .channel-status") { $0.contains("Delivered") }.contains("Delivered"))
                        #expect(!(try await browser.element("main").text()).contains(NotifyChannels.signingSecret))
                        try await browser.screenshot("notifications-1280")

                        // A rule that only notifies: the PSA's fields are hidden, the channel is chosen by name.
                        try await browser.open(console + "/#/rules/new/datto-fails-2-nights-connectwise")
                        #expect(try await browser.element("select#rule-action").choose("Only notify") == "notify")
                        #expect(
                            try await browser.execute("return [...document.querySelectorAll('.psa-part')].every((f) => f.hidden)") as? Bool
                                == true)
                        try await browser.element("input.rule-channel[value='\(channel.id)']").click()
                        try await browser.element("#rule-dry-run-hours").clear()
                        try await browser.element("#rule-dry-run-hours").type("0")
                        #expect(try await browser.unlabelledControls() == [])
                        try await browser.element("#rule-enable").click()
                        #expect(
                            try await browser.waitForText("#rule-notifies") { $0.contains(channel.id) }.contains("on open and recovery"))
                        let rule = try #require(try await harness.rules("/v1/rules", as: RuleList.self).rules.first)
                        #expect(rule.action == .notify && rule.notifyChannels == [channel.id] && !rule.dryRun)
                    } catch {
                        await browser.close()
                        throw error
                    }
                    await browser.close()
                }
            }
        }
    }
}
