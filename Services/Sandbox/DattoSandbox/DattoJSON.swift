import Foundation

/// Renders devices and assets in the shapes the reference documents (docs/datto-sandbox.md lists them).
enum DattoJSON {
    /// `2026-10-01T14:01:03+00:00`, the form Datto uses for device and backup timestamps.
    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxx"
        return formatter.string(from: date)
    }

    static func device(_ device: SandboxDevice, fleet: Fleet, now: Date, start: Date) -> [String: Any] {
        let customer = fleet.customers[device.customer]
        let agents = device.assets.filter { $0.kind == .agent }.count
        return [
            "serialNumber": device.serialNumber,
            "name": device.name,
            "model": device.model,
            "region": ["location": "US", "provider": NSNull()],
            "lastSeenDate": timestamp(device.offlineSince ?? now.addingTimeInterval(-120)),
            "clientCompanyName": customer.name ?? "",
            "organizationId": customer.organizationId.map { $0 as Any } ?? NSNull(),
            "organizationName": (customer.organizationId != nil ? customer.name : nil).map { $0 as Any } ?? NSNull(),
            "hidden": device.hidden,
            "servicePlan": "Infinite Cloud Retention",
            "registrationDate": timestamp(start.addingTimeInterval(-400 * 86_400)),
            "servicePeriod": timestamp(start.addingTimeInterval(300 * 86_400)),
            "warrantyExpire": timestamp(start.addingTimeInterval(600 * 86_400)),
            "localStorageUsed": ["size": device.storage(at: now).used, "units": "GB"],
            "localStorageAvailable": ["size": device.storage(at: now).available, "units": "GB"],
            "offsiteStorageUsed": ["size": device.offsiteUsedGB, "units": "GB"],
            "internalIP": device.internalIP,
            "activeTickets": 0,
            "resellerCompanyName": "Vectis Sandbox MSP",
            "agentCount": agents,
            "shareCount": device.assets.count - agents,
            "alertCount": device.alerts.count,
            "uptime": 1_209_600,
            "remoteWebUrl": "https://device.dattobackup.com/sandbox/\(device.serialNumber)"
        ]
    }

    static func asset(_ asset: SandboxAsset, device: SandboxDevice, fleet: Fleet, now: Date, start: Date) -> [String: Any] {
        let runs = fleet.visibleRuns(of: asset, on: device, now: now, start: start)
        let lastSuccess = runs.first { $0.succeeded }?.timestamp
        var object: [String: Any] = [
            "name": asset.name,
            "assetId": asset.assetId,
            "volume": asset.volume,
            "type": asset.kind.rawValue,
            "isPaused": asset.isPaused,
            "isArchived": asset.isArchived,
            "localSnapshots": runs.filter(\.succeeded).count * 12,
            // Epoch seconds; 0 (or null for offsite) means never.
            "lastSnapshot": lastSuccess.map { Int($0.timeIntervalSince1970) } ?? 0,
            // Replicated an hour after each successful backup, unless replication has stalled since then.
            "latestOffsite": runs.first { run in
                run.succeeded && asset.offsiteStalledSince.map { run.timestamp.addingTimeInterval(3_600) <= $0 } ?? true
            }.map { Int($0.timestamp.timeIntervalSince1970) + 3_600 as Any } ?? NSNull(),
            "backups": runs.map { backup($0, asset: asset) }
        ]
        if asset.kind == .agent {
            object["localIp"] = asset.ip
            object["os"] = asset.os
            object["fqdn"] = "\(asset.name.lowercased()).sandbox.local"
            object["agentVersion"] = asset.agentVersion
            object["protectedVolumesCount"] = 2
            object["unprotectedVolumesCount"] = 0
            object["protectedVolumeNames"] = ["C:\\", "D:\\"]
            object["unprotectedVolumeNames"] = [String]()
            // Each successful backup is verified ten minutes later; inside a screenshot-failure window it does not boot.
            object["lastScreenshotAttempt"] = lastSuccess.map { Int($0.timeIntervalSince1970) + 600 } ?? 0
            object["lastScreenshotAttemptStatus"] = lastSuccess.map { asset.screenshotBoots($0) } ?? false
            object["lastScreenshotUrl"] = "https://device.dattobackup.com/sirisReporting/images/latest/\(asset.volume).png"
            object["protectedMachine"] = ["mac": "00:11:22:33:44:\(String(format: "%02x", asset.assetId % 256))", "serial": NSNull()]
        }
        return object
    }

    /// `GET /bcdr/device/{sn}/alert` items: ISO-8601 times with an offset, as the samples show.
    static func alert(_ alert: SandboxDeviceAlert) -> [String: Any] {
        let text = timestamp(alert.triggeredAt)
        return ["type": alert.type, "threshold": alert.threshold, "unit": alert.unit, "dateTriggered": text, "dateSent": text]
    }

    static func backup(_ run: SandboxRun, asset: SandboxAsset? = nil) -> [String: Any] {
        var backup: [String: Any] = [
            "status": run.succeeded ? "success" : "failure",
            "errorMessage": run.errorMessage.map { $0 as Any } ?? NSNull()
        ]
        if let size = run.sizeBytes { backup["totalUsedStorage"] = size }
        return [
            "timestamp": timestamp(run.timestamp),
            "backup": backup,
            "localVerification": [
                "status": run.succeeded ? "success" : "failure",
                "errors": run.succeeded ? [] : [["errorType": "filesystem", "errorMessage": "Could not mount the snapshot"]]
            ],
            "advancedVerification": [
                "screenshotVerification": run.succeeded
                    ? [
                        "status": asset?.screenshotBoots(run.timestamp) ?? true ? "1" : "",
                        "image": "https://device.dattobackup.com/screenshots/\(run.volume).png"
                    ]
                        as Any
                    : NSNull() as Any
            ]
        ]
    }

    static func data(_ value: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    }
}
