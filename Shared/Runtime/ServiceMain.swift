import Foundation
import Hummingbird
import Logging

/// What every service's `main` does: read the configuration (refusing bad values with exit 2), start logging
/// and metrics, build exactly what the tests build, and run until SIGTERM/SIGINT.
public enum ServiceMain {
    public static func run<Configuration, Application: ApplicationProtocol>(
        _ name: String,
        configuration makeConfiguration: (Environment) throws -> Configuration,
        runtime: (Configuration) -> RuntimeConfiguration,
        build: (Configuration, ServiceMetrics, Logger) throws -> Application
    ) async {
        let configuration: Configuration
        do {
            configuration = try makeConfiguration(Environment())
        } catch {
            FileHandle.standardError.write(Data("\(name): \(error)\n".utf8))
            exit(2)
        }
        let settings = runtime(configuration)
        VectisLogging.bootstrap(format: settings.logFormat, level: settings.logLevel)
        let metrics = ServiceMetrics()
        metrics.bootstrapGlobal()
        let logger = Logger(label: name)
        do {
            let application = try build(configuration, metrics, logger)
            try await application.runService()
        } catch {
            logger.critical("\(name) stopped", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}
