// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "billing-service",
    platforms: [.macOS(.v15)],
    products: [
        // The domain as a library other Swift services embed (Examples/EmbeddedBilling).
        .library(name: "BillingCore", targets: ["BillingCore"]),
        .executable(name: "billing-server", targets: ["BillingServer"]),
        .executable(name: "billing-cron", targets: ["BillingCron"]),
        .executable(name: "payment-sandbox", targets: ["PaymentSandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Pinned to the 4.x major on purpose (the mirror also has 3.x).
        .package(url: "https://github.com/apple/swift-crypto", "4.5.2"..<"5.0.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        // Only the stream load generator (bench/StreamLoad) speaks HTTP/2 itself.
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Only the payment sandbox sends HTTP requests (its callbacks to billing).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
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
        .target(
            name: "BillingConcurrency",
            dependencies: [.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        .target(name: "BillingPostgres", dependencies: ["BillingCore", "BillingConcurrency", "CLibPQ"]),
        .target(
            name: "BillingRedis",
            dependencies: [
                "BillingCore", "BillingConcurrency", "CHiredis", .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // The callback signature: verified by the server, made by the payment sandbox.
        .target(
            name: "CallbackSigning",
            dependencies: ["BillingCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // gRPC servers and clients as ServiceGroup services (billing-server and the sandbox).
        .target(
            name: "GRPCLifecycle",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Settings shared by the executables (sources, environment, database, catalog, zone)
        // and the cron's own configuration, read with swift-configuration. The server's
        // configuration lives in BillingApp; the cron links no Redis and reads no secrets.
        .target(
            name: "BillingConfiguration",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingLogging",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // One line per event (key=value or JSON) with the request id: every executable.
        .target(
            name: "BillingLogging",
            dependencies: ["BillingCore", .product(name: "Logging", package: "swift-log")]
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
        // Generated by scripts/gen-proto.sh from proto/ and committed: no code generator at build time.
        .target(
            name: "BillingProto",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The server as a library: HTTP routes, gRPC services, auth, metrics, lifecycle.
        // The executable only parses the command line and runs it; tests build the same app.
        .target(
            name: "BillingApp",
            dependencies: [
                "BillingCore", "BillingPostgres", "BillingRedis", "BillingConfiguration", "BillingLogging", "CallbackSigning",
                "GRPCLifecycle",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                "BillingProto",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "BillingServer",
            dependencies: [
                "BillingApp", "BillingLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "BillingCron",
            dependencies: [
                "BillingJobs", "BillingConfiguration", "BillingPostgres", "BillingLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The local stand-in for the platform's Payment Service (development and tests);
        // the executable only parses its command line.
        .target(
            name: "PaymentSandboxKit",
            dependencies: [
                "BillingCore", "BillingProto", "CallbackSigning", "GRPCLifecycle",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PaymentSandbox",
            dependencies: [
                "PaymentSandboxKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        .executableTarget(
            name: "LaneBenchmark",
            dependencies: ["BillingCore", "BillingPostgres"],
            path: "bench/LaneBenchmark"
        ),

        .executableTarget(
            name: "GRPCLoad",
            dependencies: [
                "BillingProto",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "bench/GRPCLoad"
        ),
        .executableTarget(
            name: "StreamLoad",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "bench/StreamLoad"
        ),

        // Helpers shared by the test targets (seeded randomness for the fuzz suites).
        .target(
            name: "TestSupport", dependencies: ["BillingCore", "BillingPostgres"], path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "BillingCoreTests",
            dependencies: [
                "BillingCore", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "BillingConcurrencyTests", dependencies: ["BillingConcurrency"]),
        .testTarget(
            name: "StreamLoadTests",
            dependencies: ["StreamLoad", "BillingProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
        ),
        .testTarget(name: "BillingPostgresTests", dependencies: ["BillingPostgres", "TestSupport"]),
        .testTarget(name: "BillingRedisTests", dependencies: ["BillingRedis", "TestSupport"]),
        // Against Citus and Redis Cluster: `make test-scale` only (not `make test`).
        .testTarget(
            name: "BillingScaleTests", dependencies: ["BillingCore", "BillingPostgres", "BillingRedis", "TestSupport"]),
        .testTarget(
            name: "BillingJobsTests",
            dependencies: ["BillingJobs", "BillingConfiguration", "BillingPostgres", "TestSupport"]
        ),
        .testTarget(
            name: "BillingAppTests",
            dependencies: [
                "BillingApp", "BillingPostgres", "BillingRedis", "BillingConfiguration", "BillingLogging", "BillingProto",
                "CallbackSigning",
                "BillingJobs", "PaymentSandboxKit", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
