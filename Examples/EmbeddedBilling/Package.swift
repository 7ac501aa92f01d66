// swift-tools-version: 6.1
import PackageDescription

// Another Swift service embedding the billing domain: it depends on the billing package
// by path and uses only its `BillingCore` product, with adapters of its own.
let package = Package(
    name: "EmbeddedBilling",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "billing-service", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "EmbeddedBilling",
            dependencies: [.product(name: "BillingCore", package: "billing-service")]
        )
    ]
)
