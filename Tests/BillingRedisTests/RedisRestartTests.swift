import BillingCore
@testable import BillingRedis
import Foundation
import Testing
import TestSupport

/// Stops the shared test Redis, so `make test` runs this suite alone, after the others.
@Suite("Redis stopped and started again", .serialized, .timeLimit(.minutes(1)))
struct RedisRestartTests {
    @Test("while Redis is down reads miss fast and writes are dropped; once it is back, hits resume")
    func restart() async throws {
        let period = try QuotaPeriod(text: "2026-11")
        let pool = RedisAccountCache.makePool(config: TestRedis.config, settings: .init(size: 2, retryAfter: .milliseconds(200))).started()
        let cache = RedisAccountCache(pool: pool, ttlSeconds: 60)
        let user = TestRedis.user()
        await cache.store(TestRedis.state(version: 1, balance: 5), of: user, period: period)
        #expect(await cache.account(of: user, period: period) != nil)

        try LocalServices.run("stop-redis")
        let started = ContinuousClock.now
        #expect(await cache.account(of: user, period: period) == nil)
        await cache.store(TestRedis.state(version: 2, balance: 6), of: user, period: period)
        #expect(await cache.account(of: user, period: period) == nil)
        #expect(!(await cache.ping()))
        #expect(ContinuousClock.now - started < .seconds(3), "a down Redis is answered fast")
        try LocalServices.run("start-redis")

        // Redis restarts empty (a cache has no persistence); writes and hits resume.
        var hit: AccountState?
        for _ in 0..<50 where hit == nil {
            try await Task.sleep(for: .milliseconds(100))
            await cache.store(TestRedis.state(version: 3, balance: 7), of: user, period: period)
            hit = await cache.account(of: user, period: period)
        }
        #expect(hit?.balanceFen == Fen(7))
        await pool.shutdown()
    }
}
