import AlertsService
import Foundation
import Logging
import VectisRuntime

// vectis-alerts: the alerts feed — one alert per problem, raised, updated, resolved.
let environment = Environment()
let configuration: RuntimeConfiguration
let adminToken: String
do {
    configuration = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: environment)
    adminToken = try AdminToken.resolve(environment, dataDirectory: configuration.dataDirectory)
} catch {
    FileHandle.standardError.write(Data("vectis-alerts: \(error)\n".utf8))
    exit(2)
}
VectisLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
let metrics = ServiceMetrics()
metrics.bootstrapGlobal()
let logger = Logger(label: "vectis-alerts")
do {
    let (application, _) = try buildApplication(configuration, adminToken: adminToken, metrics: metrics, logger: logger)
    try await application.runService()
} catch {
    logger.critical("vectis-alerts could not start", metadata: ["error": "\(error)"])
    exit(1)
}
