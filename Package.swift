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

        .target(name: "BillingPostgres", dependencies: ["BillingCore", "CLibPQ"]),
        .target(name: "BillingRedis", dependencies: ["BillingCore", "CHiredis"]),

        .executableTarget(
            name: "BillingServer",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "BillingCron",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
    ],
    swiftLanguageModes: [.v6]
)
