import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// Live updates: the alerts screen redraws from the alerts service's Server-Sent Events (through the console, which
/// streams them), and falls back to refreshing when the stream is cut. Part of the console's serialized suite.
extension ConsoleTests {
    @Test(
        "an alert raised while the alerts page is open appears within 2 s without a reload (Server-Sent Events through the console); after the stream is cut the next one still appears within 10 s"
    )
    func liveAlerts() async throws {
        let fleet = FleetConfiguration(
            customers: 2, devicesPerCustomer: 1, agentsPerDevice: 2, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            let sandbox = harness.sandbox
            let (first, second) = (sandbox.inventory()[0].assets[0], sandbox.inventory()[1].assets[0])

            // The stream itself, through the console: an event arrives while the request is still open.
            try await harness.withConsole { console in
                let curl = try RunningProcess(
                    "/usr/bin/curl",
                    [
                        "-sN", "-H", "Authorization: Bearer \(CollectorHarness.readToken)",
                        console + "/api/alerts/v1/events?topics=alert.raised"
                    ])
                #expect(try await eventually { curl.stdout.contains(": live") }, "the stream opens at once: \(curl.stderr)")
                let refused = try await HTTP.send("GET", console + "/api/alerts/v1/events")
                #expect(refused.status == 401, "no token, no stream")

                let browser = try await Browser()
                do {
                    try await browser.signIn(console)
                    try await browser.open(console + "/#/alerts")
                    #expect(try await browser.waitForText("#live") { $0.contains("live") } == "● live")

                    // An alert raised while the page is open: polling rests while live, so only the stream can show it.
                    #expect(sandbox.fail(volume: first.volume, nights: 3))
                    try await harness.nextNight()
                    var raised: AlertView?
                    #expect(
                        try await eventually(timeout: .seconds(30)) {
                            raised = try await harness.alertList().first { $0.agentName == first.name }
                            return raised != nil
                        })
                    let alert = try #require(raised)
                    let seen = ContinuousClock.now
                    _ = try await browser.element("tr[data-alert='\(alert.id)']", timeout: .seconds(10))
                    let delay = seen.duration(to: .now)
                    #expect(delay < .seconds(2), "shown \(delay) after the API had it")
                    #expect(curl.stdout.contains("event: alert.raised"), "the stream carried it while still open")
                    curl.signal(SIGTERM)

                    // Cut: the page says it is refreshing, and the next alert still appears within 10 s.
                    _ = try await browser.execute("window.vectisLive.cut();")
                    _ = try await browser.waitForText("#live") { $0.contains("refreshing") }
                    #expect(sandbox.fail(volume: second.volume, nights: 3))
                    try await harness.nextNight()
                    var next: AlertView?
                    #expect(
                        try await eventually(timeout: .seconds(30)) {
                            next = try await harness.alertList().first { $0.agentName == second.name }
                            return next != nil
                        })
                    let later = try #require(next)
                    let seenLater = ContinuousClock.now
                    _ = try await browser.element("tr[data-alert='\(later.id)']", timeout: .seconds(15))
                    #expect(seenLater.duration(to: .now) < .seconds(10))
                    // And the stream comes back by itself.
                    #expect(try await browser.waitForText("#live") { $0.contains("live") && !$0.contains("refreshing") } == "● live")
                    try await browser.screenshot("alerts-live")
                } catch {
                    await browser.close()
                    throw error
                }
                await browser.close()
            }
        }
    }
}
