import Foundation
import Logging
import RulesService
import VectisRuntime

// vectis-rules: templates that turn failing backups into exactly one PSA ticket per problem.
let configuration: RulesConfiguration
do {
    configuration = try RulesConfiguration(environment: Environment())
} catch {
    FileHandle.standardError.write(Data("vectis-rules: \(error)\n".utf8))
    exit(2)
}
VectisLogging.bootstrap(format: configuration.runtime.logFormat, level: configuration.runtime.logLevel)
let metrics = ServiceMetrics()
metrics.bootstrapGlobal()
let logger = Logger(label: "vectis-rules")
do {
    let (application, _) = try buildApplication(configuration, metrics: metrics, logger: logger)
    try await application.runService()
} catch {
    logger.critical("vectis-rules could not start", metadata: ["error": "\(error)"])
    exit(1)
}
