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

    @Test("a replay acknowledged after another server's commit missed the cache refreshes it (that server was killed between the two)")
    func replayRefreshes() async throws {
        try await TestApp.with { app in
            try await app.fund("c4", yuan: "1.00")
            _ = try await app.deduct("c4", "payment", count: 1_000)
            let first = try await app.deduct("c4", "payment", count: 3, requestId: "r1")
            #expect(first.data?["balanceFen"]?.int64 == 70)
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=c4").data?["balanceFen"]?.int64 == 70)
            // Another server commits the same charge as r2 and dies before its cache write: the
            // records and the balance row move on, the cached account does not.
            try await app.parts.pool.withConnection { connection in
                try connection.query(
                    """
                    INSERT INTO billing_record (id, user_id, service_name, app_id, type, count, amount_fen, request_id,
                        period, created_at, price_micro_fen, price_version, price_override, balance_after_fen,
                        free_remaining_after, available_after_fen)
                    SELECT nextval('billing_record_id_seq'), user_id, service_name, app_id, type, count, amount_fen, 'r2',
                        period, now(), price_micro_fen, price_version, price_override, balance_after_fen - amount_fen,
                        free_remaining_after, available_after_fen - amount_fen
                    FROM billing_record WHERE user_id = 'c4' AND request_id = 'r1'
                    """)
                try connection.query(
                    """
                    UPDATE user_balance SET balance_fen = balance_fen - 30, spend_fen = spend_fen + 30,
                        version = version + 1
                    WHERE user_id = 'c4'
                    """)
            }
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=c4").data?["balanceFen"]?.int64 == 70)
            // Its caller retries here: the replay's answer, and from then on every read, says 40.
            let retry = try await app.deduct("c4", "payment", count: 3, requestId: "r2")
            #expect(retry.data?["replayed"] == .bool(true) && retry.data?["balanceFen"]?.int64 == 40)
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=c4").data?["balanceFen"]?.int64 == 40)
            let check = try await app.internal("check", #"{"user_id": "c4", "service_name": "payment", "count": 1}"#)
            #expect(check.data?["balanceFen"]?.int64 == 40)
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
