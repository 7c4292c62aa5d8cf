import AssetsService
import VectisRuntime

// vectis-assets: customers, devices and agents, linked, visible before their first backup.
await ServiceMain.run(
    "vectis-assets", configuration: { try RuntimeConfiguration(service: "assets", defaultHTTPPort: 8082, environment: $0) },
    runtime: { $0 },
    build: { configuration, metrics, logger in
        let access = try AccessTokens(environment: Environment(), dataDirectory: configuration.dataDirectory)
        return try buildApplication(configuration, access: access, metrics: metrics, logger: logger).application
    })
