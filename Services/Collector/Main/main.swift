import CollectorService
import VectisRuntime

// vectis-collector: the only door to Datto.
await ServiceMain.run(
    "vectis-collector", configuration: { try CollectorConfiguration(environment: $0) }, runtime: \.runtime,
    build: { configuration, metrics, logger in try buildApplication(configuration, metrics: metrics, logger: logger).application })
