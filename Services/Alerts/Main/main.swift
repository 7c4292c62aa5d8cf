import AlertsService
import VectisRuntime

// vectis-alerts: one alert per problem, raised, updated and resolved from the backups service's events.
await ServiceMain.run(
    "vectis-alerts", configuration: { try AlertsConfiguration(environment: $0) }, runtime: \.runtime,
    build: { configuration, metrics, logger in try buildApplication(configuration, metrics: metrics, logger: logger).application })
