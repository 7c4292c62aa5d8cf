import BackupsService
import VectisRuntime

// vectis-backups: the backup_jobs history and each agent's summary.
await ServiceMain.run(
    "vectis-backups", configuration: { try BackupsConfiguration(environment: $0) }, runtime: \.runtime,
    build: { configuration, metrics, logger in try buildApplication(configuration, metrics: metrics, logger: logger).application })
