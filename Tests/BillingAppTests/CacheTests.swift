@testable import BillingApp
import BillingCore
import Foundation
import Testing

@Suite("CheckQuota and GetAccount through the Redis cache", .timeLimit(.minutes(1)))
struct CacheTests {
    @Test("a check after an acknowledged deduction sees the new balance; the second check is a cache hit")
    func readYourWrites() async throws {
        try await TestApp.with { app in
            try await app.fund("c1", yuan: "1.00")
            _ = try await app.deduct("c1", "payment", count: 1_000)
            let before = try await app.internal("check", #"{"user_id": "c1", "service_name": "payment", "count": 1}"#)
            #expect(before.data?["balanceFen"]?.int64 == 100)
            _ = try await app.deduct("c1", "payment", count: 3)
            let after = try await app.internal("check", #"{"user_id": "c1", "service_name": "payment", "count": 1}"#)
            #expect(after.data?["balanceFen"]?.int64 == 70)
            let account = try await app.send(.get, "/api/v1/billing/account?user_id=c1")
            #expect(account.data?["balanceFen"]?.int64 == 70)
            let metrics = try await app.send(.get, "/metrics").text
            #expect(metrics.contains(#"billing_cache_reads_total{result="hit"}"#))
            #expect(try await app.send(.get, "/ready").data?["cache"] == .string("up"))
        }
    }

    @Test("a recharge credit is visible to the next check at once")
    func creditVisible() async throws {
        try await TestApp.with { app in
            _ = try await app.internal("check", #"{"user_id": "c2", "service_name": "asset", "count": 1}"#)
            try await app.fund("c2", yuan: "2.50")
            let check = try await app.internal("check", #"{"user_id": "c2", "service_name": "asset", "count": 1}"#)
            #expect(check.data?["balanceFen"]?.int64 == 250)
        }
    }

    @Test("with Redis unreachable every request still succeeds from PostgreSQL, and /ready says degraded")
    func redisDown() async throws {
        try await TestApp.with(environment: ["BILLING_REDIS_PORT": "1", "BILLING_REDIS_CLUSTER_NODES": ""]) { app in
            try await app.fund("c3", yuan: "1.00")
            _ = try await app.deduct("c3", "asset", count: 1_002)
            let check = try await app.internal("check", #"{"user_id": "c3", "service_name": "asset", "count": 1}"#)
            #expect(check.status == 200 && check.data?["balanceFen"]?.int64 == 90)
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=c3").data?["balanceFen"]?.int64 == 90)
            let ready = try await app.send(.get, "/ready")
            #expect(ready.status == 200 && ready.data?["cache"] == .string("degraded"))
            #expect(try await app.send(.get, "/metrics").text.contains("billing_cache_write_failures_total"))
        }
    }
}
