import Foundation
import VectisContracts

extension DattoDeviceSeen {
    init(_ device: DattoDevice, customer: CustomerRef, assetVolumes: [String]?, observedAt: Date) {
        self.init(
            serialNumber: device.serialNumber, name: device.name ?? device.serialNumber, model: device.model,
            customer: customer, lastSeenAt: device.lastSeenDate, hidden: device.hidden,
            localStorageUsedBytes: device.localStorageUsedBytes, localStorageAvailableBytes: device.localStorageAvailableBytes,
            offsiteStorageUsedBytes: device.offsiteStorageUsedBytes, remoteWebURL: device.remoteWebUrl,
            internalIP: device.internalIP, agentCount: device.agentCount, shareCount: device.shareCount,
            alertCount: device.alertCount, servicePlan: device.servicePlan, assetVolumes: assetVolumes,
            observedAt: observedAt)
    }
}

extension DattoAgentSeen {
    init(_ asset: DattoAsset, device: DattoDevice, customer: CustomerRef, observedAt: Date) {
        self.init(
            deviceSerial: device.serialNumber, customer: customer, volume: asset.volume, name: asset.name,
            kind: asset.type == "share" ? .share : .agent, os: asset.os, ipAddress: asset.localIp, fqdn: asset.fqdn,
            agentVersion: asset.agentVersion, isPaused: asset.isPaused, isArchived: asset.isArchived,
            lastSnapshotAt: asset.lastSnapshot, latestOffsiteAt: asset.latestOffsite,
            lastScreenshotAttemptAt: asset.lastScreenshotAttempt, lastScreenshotSucceeded: asset.lastScreenshotAttemptStatus,
            observedAt: observedAt)
    }
}

extension BackupRunObserved {
    init(_ backup: DattoBackup, asset: DattoAsset, device: DattoDevice, customer: CustomerRef) {
        self.init(
            deviceSerial: device.serialNumber, agentVolume: asset.volume, agentName: asset.name, customer: customer,
            runAt: backup.timestamp, rawStatus: backup.status, errorMessage: backup.errorMessage, sizeBytes: backup.sizeBytes,
            verification: BackupVerification(
                localStatus: backup.localVerificationStatus, localErrors: backup.localVerificationErrors,
                screenshotStatus: backup.screenshotStatus, screenshotImageURL: backup.screenshotImage),
            kind: asset.type == "share" ? .share : .agent)
    }
}
