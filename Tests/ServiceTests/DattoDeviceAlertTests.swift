import DattoSandbox
import Foundation
import Testing
import VectisAPI
import VectisContracts
import VectisTestSupport

/// Datto's own device alerts (`/bcdr/device/{sn}/alert`), mirrored into the alert feed and cleared with Datto.
@Suite("Datto's own device alerts", .serialized)
struct DattoDeviceAlertTests {
    @Test(
        "an alert Datto raises on an appliance is mirrored as one datto-alert per type, and resolved when Datto no longer lists it; appliances without alerts cost no request"
    )
    func mirrored() async throws {
        let fleet = FleetConfiguration(
            customers: 1, devicesPerCustomer: 2, agentsPerDevice: 1, sharesPerDevice: 0, failingAgents: 0, agentsWithoutBackupsEvery: 0,
            unassignedDevices: 0)
        try await SystemHarness.with(fleet: fleet) { harness in
            try await harness.configure()
            try await harness.waitForHistory()
            #expect(harness.sandbox.deviceAlertReads == 0, "no appliance has alerts: none is asked")
            let device = harness.sandbox.inventory()[0]
            func mirrored() async throws -> [AlertView] { try await harness.alertList().filter { $0.type == "datto-alert" } }

            #expect(harness.sandbox.raiseDeviceAlert(serialNumber: device.serialNumber, type: "Device Not Seen Alert", threshold: 60))
            #expect(
                harness.sandbox.raiseDeviceAlert(
                    serialNumber: device.serialNumber, type: "Low Local Storage", threshold: 90, unit: "Percent"))
            _ = try await harness.sync()
            #expect(try await eventually { try await mirrored().count == 2 })
            let raised = try await mirrored()
            #expect(harness.sandbox.deviceAlertReads == 1, "one request, for the one appliance with alerts")
            let notSeen = try #require(
                raised.first { $0.lastError?.hasPrefix("Device Not Seen Alert (threshold 60 Minutes), triggered") == true })
            #expect(notSeen.severity == .medium && notSeen.state == .open && notSeen.deviceSerial == device.serialNumber, "\(notSeen)")
            // Read again, unchanged: no second occurrence.
            _ = try await harness.sync()
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await mirrored().allSatisfy { $0.occurrences == 1 })

            #expect(harness.sandbox.clearDeviceAlerts(serialNumber: device.serialNumber, type: "Device Not Seen Alert"))
            _ = try await harness.sync()
            #expect(try await eventually { try await mirrored().first { $0.id == notSeen.id }?.state == .resolved })
            #expect(try await mirrored().first { $0.id == notSeen.id }?.resolvedReason == "cleared-in-datto")
            #expect(try await mirrored().filter { $0.state == .open }.count == 1)

            // The last one cleared: alertCount 0 says so without asking.
            let reads = harness.sandbox.deviceAlertReads
            #expect(harness.sandbox.clearDeviceAlerts(serialNumber: device.serialNumber))
            _ = try await harness.sync()
            #expect(try await eventually { try await mirrored().allSatisfy { $0.state == .resolved } })
            #expect(harness.sandbox.deviceAlertReads == reads)
        }
    }
}
