import Foundation
import Hummingbird

/// `/_sandbox/…`: move the clock, make agents fail and recover, add devices and agents, inject faults, and
/// read what the sandbox saw. No authentication: the sandbox is a development and test tool.
struct ScenarioController {
    let state: SandboxState

    struct Advance: Decodable {
        var hours: Double?
        var seconds: Double?
    }
    struct Nights: Decodable { var nights: Int }
    struct NewDevice: Decodable {
        var customer: Int?
        var agents: Int?
    }
    struct NewAgent: Decodable { var name: String? }

    func addRoutes(to router: Router<BasicRequestContext>) {
        let group = router.group("_sandbox")
        group.get("state") { _, _ in
            json([
                "now": DattoJSON.timestamp(state.now), "devices": state.deviceCount, "assets": state.assetCount,
                "publicKeys": state.configuration.keys.map(\.publicKey), "accountRegion": state.configuration.accountRegion
            ])
        }
        group.post("clock/advance") { request, context in
            let body = try await request.decode(as: Advance.self, context: context)
            state.advanceClock(by: (body.hours ?? 0) * 3_600 + (body.seconds ?? 0))
            return json(["now": DattoJSON.timestamp(state.now)])
        }
        group.post("agents/:volume/fail") { request, context in
            let body = try await request.decode(as: Nights.self, context: context)
            guard state.fail(volume: try context.parameters.require("volume"), nights: body.nights) else {
                return Response(status: .notFound)
            }
            return json(["failing": true, "nights": body.nights])
        }
        group.post("agents/:volume/recover") { _, context in
            guard state.recover(volume: try context.parameters.require("volume")) else { return Response(status: .notFound) }
            return json(["failing": false])
        }
        group.post("agents/:volume/silence") { _, context in
            guard state.silence(volume: try context.parameters.require("volume")) else { return Response(status: .notFound) }
            return json(["silent": true])
        }
        group.post("agents/:volume/resume") { _, context in
            guard state.resume(volume: try context.parameters.require("volume")) else { return Response(status: .notFound) }
            return json(["silent": false])
        }
        group.post("agents/:volume/offsite-stall") { _, context in
            guard state.stallOffsite(volume: try context.parameters.require("volume")) else { return Response(status: .notFound) }
            return json(["offsiteStalled": true])
        }
        group.post("agents/:volume/offsite-resume") { _, context in
            guard state.stallOffsite(volume: try context.parameters.require("volume"), false) else { return Response(status: .notFound) }
            return json(["offsiteStalled": false])
        }
        group.post("agents/:volume/screenshot-fail") { request, context in
            let body = try await request.decode(as: Nights.self, context: context)
            guard state.failScreenshots(volume: try context.parameters.require("volume"), nights: body.nights) else {
                return Response(status: .notFound)
            }
            return json(["screenshotsFailing": true, "nights": body.nights])
        }
        group.post("agents/:volume/screenshot-fix") { _, context in
            guard state.fixScreenshots(volume: try context.parameters.require("volume")) else { return Response(status: .notFound) }
            return json(["screenshotsFailing": false])
        }
        group.post("devices/:serial/storage-fill") { request, context in
            struct Fill: Decodable {
                var fromPercent: Double
                var toPercent: Double
                var days: Double
            }
            let body = try await request.decode(as: Fill.self, context: context)
            guard body.fromPercent.isFinite, body.toPercent.isFinite, body.days.isFinite, (0...100).contains(body.fromPercent),
                (0...100).contains(body.toPercent),
                let full = state.fillStorage(
                    serialNumber: try context.parameters.require("serial"), fromPercent: body.fromPercent, toPercent: body.toPercent,
                    days: body.days)
            else { return Response(status: .notFound) }
            return json(["fullAt": DattoJSON.timestamp(full)])
        }
        group.post("devices/:serial/storage-free") { request, context in
            struct Free: Decodable { var percent: Double }
            let body = try await request.decode(as: Free.self, context: context)
            guard body.percent.isFinite, state.freeStorage(serialNumber: try context.parameters.require("serial"), percent: body.percent)
            else { return Response(status: .notFound) }
            return json(["percent": body.percent])
        }
        group.post("devices/:serial/alerts") { request, context in
            struct Raise: Decodable {
                var type: String
                var threshold: Int?
                var unit: String?
            }
            let body = try await request.decode(as: Raise.self, context: context)
            guard
                state.raiseDeviceAlert(
                    serialNumber: try context.parameters.require("serial"), type: body.type, threshold: body.threshold ?? 60,
                    unit: body.unit ?? "Minutes")
            else { return Response(status: .notFound) }
            return json(["raised": body.type])
        }
        group.delete("devices/:serial/alerts") { request, context in
            let type = request.uri.queryParameters.get("type")
            guard state.clearDeviceAlerts(serialNumber: try context.parameters.require("serial"), type: type) else {
                return Response(status: .notFound)
            }
            return json(["cleared": type ?? "all"])
        }
        group.post("dtc/:uuid/fail") { request, context in
            let body = try await request.decode(as: Nights.self, context: context)
            guard state.failEndpoint(assetUuid: try context.parameters.require("uuid"), nights: body.nights) else {
                return Response(status: .notFound)
            }
            return json(["failing": true, "nights": body.nights])
        }
        group.post("saas/forbid") { request, context in
            struct Forbid: Decodable { var forbidden: Bool }
            let body = try await request.decode(as: Forbid.self, context: context)
            state.forbidSaaS(body.forbidden)
            return json(["forbidden": body.forbidden])
        }
        group.post("saas/:id/:application/fail") { request, context in
            let body = try await request.decode(as: Nights.self, context: context)
            guard let id = Int(try context.parameters.require("id")),
                state.failSaaS(saasCustomerId: id, application: try context.parameters.require("application"), nights: body.nights)
            else { return Response(status: .notFound) }
            return json(["failing": true, "nights": body.nights])
        }
        group.post("saas/:id/:application/recover") { _, context in
            guard let id = Int(try context.parameters.require("id")),
                state.recoverSaaS(saasCustomerId: id, application: try context.parameters.require("application"))
            else { return Response(status: .notFound) }
            return json(["failing": false])
        }
        group.post("devices/:serial/offline") { _, context in
            guard state.setOffline(serialNumber: try context.parameters.require("serial")) else { return Response(status: .notFound) }
            return json(["offline": true])
        }
        group.post("devices/:serial/online") { _, context in
            guard state.setOffline(serialNumber: try context.parameters.require("serial"), false) else {
                return Response(status: .notFound)
            }
            return json(["offline": false])
        }
        group.post("agents/:volume/remove") { _, context in
            guard state.removeAgent(volume: try context.parameters.require("volume")) else { return Response(status: .notFound) }
            return json(["removed": true])
        }
        group.post("customers/:index/rename") { request, context in
            struct Rename: Decodable { var name: String }
            let body = try await request.decode(as: Rename.self, context: context)
            guard let index = Int(try context.parameters.require("index")), state.renameCustomer(index, to: body.name) else {
                return Response(status: .notFound)
            }
            return json(["name": body.name])
        }
        group.post("devices") { request, context in
            let body = try await request.decode(as: NewDevice.self, context: context)
            return json(["serialNumber": state.addDevice(customer: body.customer ?? 0, agents: body.agents ?? 1)])
        }
        group.post("devices/:serial/agents") { request, context in
            let body = try await request.decode(as: NewAgent.self, context: context)
            guard let volume = state.addAgent(serialNumber: try context.parameters.require("serial"), name: body.name ?? "NEW-AGENT")
            else { return Response(status: .notFound) }
            return json(["volume": volume])
        }
        group.post("faults") { request, context in
            let fault = try await request.decode(as: SandboxFault.self, context: context)
            state.faults.withLock { $0.append(fault) }
            return json(["queued": state.faults.withLock { $0.count }])
        }
        group.delete("faults") { _, _ in
            state.faults.withLock { $0.removeAll() }
            return Response(status: .noContent)
        }
        group.get("stats") { _, _ in
            let log = state.requests.withLock { $0 }
            var keys: [String: Any] = [:]
            for (key, entry) in log.keys { keys[key] = ["total": entry.total, "maxPerWindow": entry.maxPerWindow] }
            return json(["total": log.total, "keys": keys, "windowSeconds": Int(state.configuration.rateWindow.components.seconds)])
        }
        group.delete("stats") { _, _ in
            state.requests.withLock { $0 = RequestLog() }
            return Response(status: .noContent)
        }
        group.get("truth") { _, _ in
            let runs = state.visibleRuns().map { run -> [String: Any] in
                [
                    "serialNumber": run.serialNumber, "volume": run.volume,
                    "timestamp": DattoJSON.timestamp(run.timestamp), "succeeded": run.succeeded
                ]
            }
            let assets = state.assets().map { ["serialNumber": $0.serialNumber, "volume": $0.volume, "type": $0.kind] }
            return json(["runs": runs, "assets": assets, "devices": state.deviceCount])
        }
    }

    func json(_ value: Any) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: DattoJSON.data(value))))
    }
}
