import BillingPostgres
import Foundation

/// Where the tests' services are: the project-local PostgreSQL and Redis of
/// `scripts/services.sh up` unless the environment (`PGHOST`, `PGPORT`, `PGUSER`,
/// `BILLING_TEST_DATABASE`, `REDIS_PORT`) points elsewhere.
public enum TestEnvironment {
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var sqlDirectory: URL { repositoryRoot.appendingPathComponent("sql") }

    private static var process: [String: String] { ProcessInfo.processInfo.environment }

    /// The test database, without a schema.
    public static var postgres: PostgresConfig {
        PostgresConfig(
            host: process["PGHOST"] ?? "127.0.0.1", port: process["PGPORT"].flatMap(Int.init) ?? 54329,
            user: process["PGUSER"] ?? "billing", database: process["BILLING_TEST_DATABASE"] ?? "billing_test",
            applicationName: "billing-tests")
    }

    /// `BILLING_TEST_CITUS=1` (`make test-scale`): the test database is a Citus coordinator,
    /// and every migrated test schema is distributed by `sql/citus/distribute.sql`.
    public static var citus: Bool { process["BILLING_TEST_CITUS"] == "1" }

    public static var redisPort: Int { process["REDIS_PORT"].flatMap(Int.init) ?? 63799 }

    /// `REDIS_CLUSTER_NODES` (`make test-scale`): the cache is a Redis Cluster, these nodes
    /// (`host:port,…`) its seeds.
    public static var redisClusterNodes: String? { process["REDIS_CLUSTER_NODES"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The `BILLING_…` variables that point an executable (or a configuration read in a
    /// test) at the test services and `schema`, in development mode; `extra` wins.
    public static func billingVariables(schema: String, extra: [String: String] = [:]) -> [String: String] {
        let database = postgres
        return [
            "BILLING_ENVIRONMENT": "development",
            "BILLING_DATABASE_HOST": database.host,
            "BILLING_DATABASE_PORT": String(database.port),
            "BILLING_DATABASE_USER": database.user,
            "BILLING_DATABASE_NAME": database.database,
            "BILLING_DATABASE_SCHEMA": schema,
            "BILLING_DATABASE_MIGRATIONS_PATH": sqlDirectory.path,
            "BILLING_REDIS_PORT": String(redisPort),
            "BILLING_REDIS_NAMESPACE": "test-\(schema)",
            "BILLING_REDIS_CLUSTER_NODES": redisClusterNodes ?? "",
        ].merging(extra) { _, new in new }
    }
}
