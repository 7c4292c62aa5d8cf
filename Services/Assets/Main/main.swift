import AssetsService
import Foundation
import Logging
import VectisRuntime

// vectis-assets: customers, devices and agents, linked, visible before their first backup.
let configuration: RuntimeConfiguration
do {
    configuration = try RuntimeConfiguration(service: "assets", defaultHTTPPort: 8082, environment: Environment())
} catch {
    FileHandle.standardError.write(Data("vectis-assets: \(error)\n".utf8))
    exit(2)
}
VectisLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
let metrics = ServiceMetrics()
metrics.bootstrapGlobal()
let logger = Logger(label: "vectis-assets")
do {
    let (application, _) = try buildApplication(configuration, metrics: metrics, logger: logger)
    try await application.runService()
} catch {
    logger.critical("vectis-assets could not start", metadata: ["error": "\(error)"])
    exit(1)
}
