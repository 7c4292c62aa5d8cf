import CollectorService
import Foundation
import Logging
import VectisRuntime

// vectis-collector: the only door to Datto.
let configuration: CollectorConfiguration
do {
    configuration = try CollectorConfiguration(environment: Environment())
} catch {
    FileHandle.standardError.write(Data("vectis-collector: \(error)\n".utf8))
    exit(2)
}
VectisLogging.bootstrap(format: configuration.runtime.logFormat, level: configuration.runtime.logLevel)
let metrics = ServiceMetrics()
metrics.bootstrapGlobal()
let logger = Logger(label: "vectis-collector")
do {
    let (application, _) = try buildApplication(configuration, metrics: metrics, logger: logger)
    try await application.runService()
} catch {
    logger.critical("vectis-collector could not start", metadata: ["error": "\(error)"])
    exit(1)
}
