import BackupsService
import Foundation
import Logging
import VectisRuntime

// vectis-backups: the backup_jobs history and each agent's summary.
let configuration: BackupsConfiguration
do {
    configuration = try BackupsConfiguration(environment: Environment())
} catch {
    FileHandle.standardError.write(Data("vectis-backups: \(error)\n".utf8))
    exit(2)
}
VectisLogging.bootstrap(format: configuration.runtime.logFormat, level: configuration.runtime.logLevel)
let metrics = ServiceMetrics()
metrics.bootstrapGlobal()
let logger = Logger(label: "vectis-backups")
do {
    let (application, _, _) = try buildApplication(configuration, metrics: metrics, logger: logger)
    try await application.runService()
} catch {
    logger.critical("vectis-backups could not start", metadata: ["error": "\(error)"])
    exit(1)
}
