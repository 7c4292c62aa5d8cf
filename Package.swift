// swift-tools-version: 6.0
// Vectis Datto bus: five services on a ZeroMQ bus that watch Datto BCDR backups for MSPs.
import PackageDescription

let package = Package(
    name: "vectis",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vectis-bus", targets: ["VectisBusMain"]),
        .executable(name: "vectis-probe", targets: ["VectisProbe"]),
        .executable(name: "vectis", targets: ["VectisCLIMain"]),
        .executable(name: "vectis-bench", targets: ["VectisBench"]),
        .executable(name: "vectis-sandbox", targets: ["VectisSandboxMain"]),
        .executable(name: "vectis-collector", targets: ["VectisCollectorMain"]),
        .executable(name: "vectis-assets", targets: ["VectisAssetsMain"]),
        .executable(name: "vectis-backups", targets: ["VectisBackupsMain"]),
        .executable(name: "vectis-alerts", targets: ["VectisAlertsMain"]),
        .executable(name: "vectis-rules", targets: ["VectisRulesMain"]),
        .executable(name: "vectis-console", targets: ["VectisConsoleMain"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.25.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        // SMTP over TLS for e-mail notifications (already built for async-http-client).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
        // The console's pass-through of live event streams (already built for HummingbirdTesting; URLSession on Linux
        // can deadlock every request in the process when a streaming task is cancelled).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        // Latency percentiles in vectis-bench only (issue 9 asks for HdrHistogram); no service links it.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0")
    ],
    targets: [
        // MARK: Shared libraries, named by role
        .systemLibrary(
            name: "CZeroMQ",
            path: "Shared/CZeroMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"], path: "Shared/ZeroMQ"),
        .target(name: "VectisContracts", path: "Shared/Contracts"),
        // The HTTP APIs' request and answer shapes: encoded by the services, decoded by the CLI and the tests.
        .target(name: "VectisAPI", dependencies: ["VectisContracts"], path: "Shared/API"),
        // A customer's monthly report, assembled from the services' read APIs: built by the console and the CLI alike.
        .target(name: "VectisReport", dependencies: ["VectisAPI", "VectisContracts"], path: "Shared/Report"),
        .target(
            name: "VectisBus",
            dependencies: [
                "ZeroMQ", "VectisContracts",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics")
            ],
            path: "Shared/Bus"
        ),
        .target(name: "CSQLiteSetup", path: "Shared/CSQLiteSetup", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "VectisStorage",
            dependencies: [
                "CSQLiteSetup", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto")
            ],
            path: "Shared/Storage"
        ),
        .target(
            name: "VectisDelivery",
            dependencies: [
                "VectisBus", "VectisContracts", "VectisStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            path: "Shared/Delivery"
        ),
        .target(
            name: "VectisRuntime",
            dependencies: [
                "VectisBus", "VectisDelivery", "VectisStorage", "ZeroMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras")
            ],
            path: "Shared/Runtime"
        ),

        // MARK: Services: a library with all the logic, a thin executable
        .target(name: "BusService", dependencies: ["ZeroMQ", "VectisBus", "VectisRuntime"], path: "Services/Bus/BusService"),
        .executableTarget(name: "VectisBusMain", dependencies: ["BusService"], path: "Services/Bus/Main"),

        .target(
            name: "CollectorService",
            dependencies: [
                "VectisRuntime", "VectisDelivery", "VectisStorage", "VectisContracts", "VectisAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types")
            ],
            path: "Services/Collector/CollectorService"
        ),
        .executableTarget(name: "VectisCollectorMain", dependencies: ["CollectorService"], path: "Services/Collector/Main"),

        .target(
            name: "AssetsService",
            dependencies: [
                "VectisRuntime", "VectisDelivery", "VectisStorage", "VectisContracts", "VectisAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird")
            ],
            path: "Services/Assets/AssetsService"
        ),
        .executableTarget(name: "VectisAssetsMain", dependencies: ["AssetsService"], path: "Services/Assets/Main"),
        .target(
            name: "BackupsService",
            dependencies: [
                "VectisRuntime", "VectisDelivery", "VectisStorage", "VectisContracts", "VectisAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            path: "Services/Backups/BackupsService"
        ),
        .executableTarget(name: "VectisBackupsMain", dependencies: ["BackupsService"], path: "Services/Backups/Main"),

        .target(
            name: "AlertsService",
            dependencies: [
                "VectisRuntime", "VectisDelivery", "VectisStorage", "VectisContracts", "VectisAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird")
            ],
            path: "Services/Alerts/AlertsService"
        ),
        .executableTarget(name: "VectisAlertsMain", dependencies: ["AlertsService"], path: "Services/Alerts/Main"),

        .target(
            name: "RulesService",
            dependencies: [
                "VectisRuntime", "VectisDelivery", "VectisStorage", "VectisContracts", "VectisAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            path: "Services/Rules/RulesService"
        ),
        .executableTarget(name: "VectisRulesMain", dependencies: ["RulesService"], path: "Services/Rules/Main"),

        .target(
            name: "ConsoleService",
            dependencies: [
                "VectisRuntime", "VectisReport", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client")
            ],
            path: "Services/Console/ConsoleService",
            resources: [.copy("Web")]
        ),
        .executableTarget(name: "VectisConsoleMain", dependencies: ["ConsoleService"], path: "Services/Console/Main"),

        .target(
            name: "DattoSandbox",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types")
            ],
            path: "Services/Sandbox/DattoSandbox"
        ),
        .target(
            name: "PSASandbox",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types")
            ],
            path: "Services/Sandbox/PSASandbox"
        ),
        .executableTarget(
            name: "VectisSandboxMain",
            dependencies: ["DattoSandbox", "PSASandbox", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Services/Sandbox/Main"
        ),

        .target(
            name: "VectisCLI",
            dependencies: [
                "VectisBus", "VectisContracts", "VectisAPI", "VectisReport", "ZeroMQ", "VectisRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Services/CLI/VectisCLI"
        ),
        .executableTarget(name: "VectisCLIMain", dependencies: ["VectisCLI"], path: "Services/CLI/Main"),

        .executableTarget(
            name: "VectisBench",
            dependencies: [
                "ZeroMQ", "VectisBus", "VectisContracts", "VectisRuntime", "BusService", "VectisDelivery",
                "VectisStorage", "CollectorService", "DattoSandbox",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Services/Bench"
        ),

        // MARK: Tests (real sockets, real processes)
        .executableTarget(
            name: "VectisProbe",
            dependencies: [
                "VectisBus", "VectisContracts", "VectisDelivery", "VectisRuntime", "VectisStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ],
            path: "Tests/Probe"
        ),
        .target(
            name: "VectisTestSupport",
            dependencies: [
                "VectisBus", "VectisContracts", "VectisRuntime", "BusService", "ZeroMQ", "VectisDelivery", "VectisStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            path: "Tests/Support"
        ),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"], path: "Tests/ZeroMQTests"),
        .testTarget(
            name: "ContractsTests",
            dependencies: ["VectisContracts", .product(name: "PropertyBased", package: "swift-property-based")],
            path: "Tests/ContractsTests"),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "VectisTestSupport", "CollectorService", "AssetsService", "BackupsService", "AlertsService", "RulesService",
                "ConsoleService", "PSASandbox", "DattoSandbox", "VectisRuntime", "VectisDelivery", "VectisStorage", "VectisContracts",
                "VectisBus", "BusService", "VectisCLI", "ZeroMQ", "VectisAPI", "VectisReport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PropertyBased", package: "swift-property-based")
            ],
            path: "Tests/ServiceTests"
        ),
        // Unit tests of one service's domain and storage: pure policies and an in-memory (or temporary) database,
        // nothing started.
        .testTarget(
            name: "BackupsServiceTests",
            dependencies: [
                "BackupsService", "VectisAPI", "VectisContracts", "VectisDelivery", "VectisTestSupport",
                .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Tests/BackupsServiceTests"
        ),
        .testTarget(
            name: "AlertsServiceTests",
            dependencies: [
                "AlertsService", "VectisContracts", "VectisDelivery", "VectisStorage", .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Tests/AlertsServiceTests"
        ),
        .testTarget(
            name: "AssetsServiceTests",
            dependencies: [
                "AssetsService", "VectisAPI", "VectisContracts", "VectisDelivery", .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Tests/AssetsServiceTests"
        ),
        .testTarget(name: "CollectorServiceTests", dependencies: ["CollectorService"], path: "Tests/CollectorServiceTests"),
        .testTarget(
            name: "RulesServiceTests",
            dependencies: [
                "RulesService", "VectisAPI", "VectisContracts", "VectisRuntime", "VectisTestSupport",
                .product(name: "GRDB", package: "GRDB.swift")
            ],
            path: "Tests/RulesServiceTests"
        ),
        .testTarget(
            name: "BusTests",
            dependencies: [
                "VectisTestSupport", "VectisBus", "VectisContracts", "VectisRuntime", "BusService", "VectisCLI", "ZeroMQ",
                "VectisDelivery", "VectisStorage",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
            ],
            path: "Tests/BusTests"
        )
    ],
    swiftLanguageModes: [.v6]
)
