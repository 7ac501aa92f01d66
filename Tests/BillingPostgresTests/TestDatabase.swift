import BillingPostgres
import Foundation

/// The test database started by `scripts/services.sh up`; the environment may point elsewhere.
enum TestDatabase {
    static var config: PostgresConfig {
        let environment = ProcessInfo.processInfo.environment
        return PostgresConfig(
            host: environment["PGHOST"] ?? "127.0.0.1",
            port: environment["PGPORT"].flatMap(Int.init) ?? 54329,
            user: environment["PGUSER"] ?? "billing",
            database: environment["BILLING_TEST_DATABASE"] ?? "billing_test",
            applicationName: "billing-tests")
    }
}
