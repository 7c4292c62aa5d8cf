import RulesService
import VectisRuntime

// vectis-rules: templates that turn failing backups into exactly one PSA ticket per problem.
await ServiceMain.run(
    "vectis-rules", configuration: { try RulesConfiguration(environment: $0) }, runtime: \.runtime,
    build: { configuration, metrics, logger in try buildApplication(configuration, metrics: metrics, logger: logger).application })
