import BusService
import VectisRuntime

// vectis-bus: the one static endpoint every service connects to.
struct BusSettings {
    var server: BusServerConfiguration
    var runtime: RuntimeConfiguration
}

await ServiceMain.run(
    "vectis-bus",
    configuration: { environment in
        BusSettings(
            server: try BusServerConfiguration(environment: environment),
            runtime: try RuntimeConfiguration(service: "bus", defaultHTTPPort: 8080, environment: environment, usesBus: false))
    },
    runtime: \.runtime,
    build: { settings, metrics, logger in buildApplication(settings.server, metrics: metrics, logger: logger).application })
