import AlertsService
import VectisRuntime

// vectis-alerts: the alerts feed — one alert per problem, raised, updated, resolved.
struct AlertsSettings {
    var runtime: RuntimeConfiguration
    var access: AccessTokens
}

await ServiceMain.run(
    "vectis-alerts",
    configuration: { environment in
        let runtime = try RuntimeConfiguration(service: "alerts", defaultHTTPPort: 8084, environment: environment)
        return AlertsSettings(runtime: runtime, access: try AccessTokens(environment: environment, dataDirectory: runtime.dataDirectory))
    },
    runtime: \.runtime,
    build: { settings, metrics, logger in
        try buildApplication(settings.runtime, access: settings.access, metrics: metrics, logger: logger).application
    })
