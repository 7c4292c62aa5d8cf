import Foundation
import BusService
import Logging
import VectisRuntime

// vectis-bus: the one static endpoint every service connects to.
let environment = Environment()
let configuration: BusServerConfiguration
let runtime: RuntimeConfiguration
do {
    configuration = try BusServerConfiguration(environment: environment)
    runtime = try RuntimeConfiguration(service: "bus", defaultHTTPPort: 8080, environment: environment)
} catch {
    FileHandle.standardError.write(Data("vectis-bus: \(error)\n".utf8))
    exit(2)
}
VectisLogging.bootstrap(format: runtime.logFormat, level: runtime.logLevel)
let metrics = ServiceMetrics()
metrics.bootstrapGlobal()
let (application, _) = buildApplication(configuration, metrics: metrics, logger: Logger(label: "vectis-bus"))
try await application.runService()
