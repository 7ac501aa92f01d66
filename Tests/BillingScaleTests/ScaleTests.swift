import BillingCore
import BillingPostgres
import BillingRedis
import Foundation
import Testing
import TestSupport

/// The scale-out tests (`make test-scale`): against the local Citus cluster and Redis
/// Cluster of `scripts/citus.sh` and `scripts/redis-cluster.sh`. One at a time: some stop a
/// worker or a Redis node.
@Suite("Scale-out: Citus and Redis Cluster", .serialized, .timeLimit(.minutes(5)))
struct ScaleTests {}

enum Scale {
    static let period = try! QuotaPeriod(text: "2026-11")

    /// Fails the test with how to run it when the engines are not configured.
    static func requireEngines() throws {
        try #require(TestEnvironment.citus, "BILLING_TEST_CITUS=1 and PGPORT of the Citus coordinator: run make test-scale")
        try #require(TestEnvironment.redisClusterNodes != nil, "REDIS_CLUSTER_NODES: run make test-scale")
    }

    static var redisConfig: RedisConfig {
        RedisConfig(
            clusterNodes: (TestEnvironment.redisClusterNodes ?? "").split(separator: ",").compactMap { RedisNode($0) })
    }

    /// Runs one of the repository's scripts (stopping a worker), failing on error.
    @discardableResult
    static func script(_ name: String, _ arguments: [String]) throws -> String {
        try TestShell.run([TestEnvironment.repositoryRoot.appendingPathComponent("scripts/\(name)").path] + arguments)
    }

    /// Runs a program found on PATH (redis-cli), failing on error.
    @discardableResult
    static func program(_ name: String, _ arguments: [String]) throws -> String {
        try TestShell.run([name] + arguments)
    }

    /// A pool and two lanes over the test schema, at a fixed instant.
    static func store(_ schema: TestSchema) -> (PostgresPool, DeductionLanes) {
        let lanes = DeductionLanes(
            config: schema.config, catalog: .platformDefault, calendar: .platformDefault,
            clock: ManualClock(Date(timeIntervalSince1970: 1_795_000_000)), settings: .init(laneCount: 2)
        ).started()
        return (PostgresPool(config: schema.config, settings: .init(size: 2)).started(), lanes)
    }
}
