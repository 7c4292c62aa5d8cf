import ConsoleService
import VectisRuntime

// vectis-console: the web console — its pages, and the services' APIs behind one origin.
await ServiceMain.run(
    "vectis-console",
    configuration: { environment in try ConsoleConfiguration(environment: environment) },
    runtime: \.runtime,
    build: { configuration, metrics, logger in try buildApplication(configuration, metrics: metrics, logger: logger).application })
