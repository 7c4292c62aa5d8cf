import AssetsService
import VectisRuntime

// vectis-assets: customers, appliances and agents, linked and visible before their first backup.
await ServiceMain.run(
    "vectis-assets", configuration: { try AssetsConfiguration(environment: $0) }, runtime: \.runtime,
    build: { configuration, metrics, logger in try buildApplication(configuration, metrics: metrics, logger: logger).application })
