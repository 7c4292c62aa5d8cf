import DattoSandbox
import Foundation
import Testing

/// The Datto sandbox is the tests' truth: a run it has listed must keep the status it was listed with, or a test
/// that accumulates what Datto showed expects the same run twice (this made the chaos run fail when the clock stood
/// exactly on an agent's run time, which happens only at some hours of the day).
@Suite("Datto sandbox: a run keeps the status it was first listed with")
struct SandboxRunStatusTests {
    /// A one-agent sandbox whose clock stands exactly on the agent's newest run, which is listed.
    func standingOnARun() throws -> (state: SandboxState, volume: String, run: Date) {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 1, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        let state = SandboxState(configuration: DattoSandboxConfiguration(fleet: fleet))
        let newest = try #require(state.visibleRuns().map(\.timestamp).max())
        let next = newest.addingTimeInterval(86_400)
        state.advanceClock(by: next.timeIntervalSince(state.now))
        try #require(state.now == next, "the clock should stand exactly on the run")
        let listed = try #require(state.visibleRuns().first { $0.timestamp == next }, "a run at exactly now is listed")
        return (state, listed.volume, next)
    }

    func status(_ state: SandboxState, at time: Date) -> Bool? {
        state.visibleRuns().first { $0.timestamp == time }?.succeeded
    }

    @Test("failing from now leaves the run listed at this instant succeeded; the next night fails")
    func failFromNow() throws {
        let (state, volume, run) = try standingOnARun()
        #expect(status(state, at: run) == true)
        #expect(state.fail(volume: volume, nights: 2))
        #expect(status(state, at: run) == true)
        state.advanceClock(by: 86_400)
        #expect(status(state, at: run) == true)
        #expect(status(state, at: run.addingTimeInterval(86_400)) == false)
    }

    @Test("recovering now leaves the failed run listed at this instant failed; the next night succeeds")
    func recoverNow() throws {
        let (state, volume, run) = try standingOnARun()
        #expect(state.fail(volume: volume, nights: 5))
        state.advanceClock(by: 86_400)
        let failedRun = run.addingTimeInterval(86_400)
        #expect(status(state, at: failedRun) == false)
        #expect(state.recover(volume: volume))
        #expect(status(state, at: failedRun) == false)
        state.advanceClock(by: 86_400)
        #expect(status(state, at: failedRun) == false)
        #expect(status(state, at: failedRun.addingTimeInterval(86_400)) == true)
    }

    @Test("silencing now keeps the run listed at this instant; the next night has no run")
    func silenceNow() throws {
        let (state, volume, run) = try standingOnARun()
        #expect(state.silence(volume: volume))
        state.advanceClock(by: 86_400)
        #expect(status(state, at: run) == true)
        #expect(status(state, at: run.addingTimeInterval(86_400)) == nil)
        #expect(state.resume(volume: volume))
        state.advanceClock(by: 86_400)
        #expect(status(state, at: run.addingTimeInterval(2 * 86_400)) == true)
    }
}
