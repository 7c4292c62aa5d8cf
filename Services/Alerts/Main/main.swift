import AlertsService
import VectisRuntime

// vectis-alerts: the alerts feed — one alert per problem, raised, updated, resolved.
struct AlertsSettings {
    var runtime: RuntimeConfiguration
    var adminToken: String
}

await ServiceMain.run(
    "vectis-alerts",
    configuration: { environment in
        let runtime = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: environment)
        return AlertsSettings(runtime: runtime, adminToken: try AdminToken.resolve(environment, dataDirectory: runtime.dataDirectory))
    },
    runtime: \.runtime,
    build: { settings, metrics, logger in
        try buildApplication(settings.runtime, adminToken: settings.adminToken, metrics: metrics, logger: logger).application
    })
