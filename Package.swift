// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "billing-service",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "billing-server", targets: ["BillingServer"]),
        .executable(name: "billing-cron", targets: ["BillingCron"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Pinned to the 4.x major on purpose (the mirror also has 3.x).
        .package(url: "https://github.com/apple/swift-crypto", "4.5.2"..<"5.0.0"),
    ],
    targets: [
        // The domain: pure Swift, no adapter, no NIO, no C module.
        .target(name: "BillingCore"),

        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),

        // Bounded queues between async callers and the threads that own blocking C clients.
        .target(name: "BillingConcurrency"),
        .target(name: "BillingPostgres", dependencies: ["BillingCore", "BillingConcurrency", "CLibPQ"]),
        .target(
            name: "BillingRedis",
            dependencies: [
                "BillingCore", "BillingConcurrency", "CHiredis", .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Every setting of the server and the cron, read with swift-configuration.
        .target(
            name: "BillingConfiguration",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingRedis",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The cron's scheduler and jobs.
        .target(
            name: "BillingJobs",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingConfiguration",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The server as a library: HTTP routes, auth, metrics, lifecycle.
        // The executable only parses the command line and runs it; tests build the same app.
        .target(
            name: "BillingApp",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingRedis", "BillingConfiguration",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "BillingServer",
            dependencies: [
                "BillingApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "BillingCron",
            dependencies: [
                "BillingJobs", "BillingConfiguration", "BillingPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        .executableTarget(
            name: "LaneBenchmark",
            dependencies: ["BillingCore", "BillingPostgres"],
            path: "bench/LaneBenchmark"
        ),

        .testTarget(
            name: "BillingCoreTests",
            dependencies: [
                "BillingCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "BillingPostgresTests", dependencies: ["BillingPostgres"]),
        .testTarget(name: "BillingRedisTests", dependencies: ["BillingRedis"]),
        .testTarget(
            name: "BillingJobsTests",
            dependencies: ["BillingJobs", "BillingConfiguration", "BillingPostgres"]
        ),
        .testTarget(
            name: "BillingAppTests",
            dependencies: [
                "BillingApp", "BillingPostgres", "BillingConfiguration",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
