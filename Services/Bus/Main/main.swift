import BusService
import VectisRuntime

// vectis-bus: the one static endpoint every service connects to.
await ServiceMain.run(
    "vectis-bus", configuration: { try BusServerConfiguration(environment: $0) }, runtime: \.runtime,
    build: { configuration, metrics, logger in buildApplication(configuration, metrics: metrics, logger: logger).application })
