import BillingCore
@testable import BillingRedis
import Foundation
import Synchronization
import Testing
import TestSupport

/// Stops the shared test Redis, so `make test` runs this suite alone, after the others.
@Suite("Redis stopped and started again", .serialized, .timeLimit(.minutes(1)))
struct RedisRestartTests {
    @Test("while Redis is down reads miss fast and writes are dropped; once it is back, hits resume")
    func restart() async throws {
        let period = try QuotaPeriod(text: "2026-11")
        let pool = RedisAccountCache.makePool(config: TestRedis.config, settings: .init(size: 2, retryAfter: .milliseconds(200))).started()
        let failures = FailedWrites()
        let cache = RedisAccountCache(pool: pool, ttlSeconds: 60, observer: failures)
        // A lane's own connection, with its 50 ms bound.
        let writer = cache.laneWriter(timeout: .milliseconds(50))
        let user = TestRedis.user()
        let laneUser = TestRedis.user()
        await cache.store(TestRedis.state(version: 1, balance: 5), of: user, period: period)
        #expect(await cache.account(of: user, period: period) != nil)
        cache.store([laneUser: TestRedis.state(version: 1, balance: 5)], period: period, on: writer)
        #expect(await cache.account(of: laneUser, period: period)?.balanceFen == Fen(5))
        #expect(failures.count == 0)

        try LocalServices.run("stop-redis")
        let started = ContinuousClock.now
        #expect(await cache.account(of: user, period: period) == nil)
        await cache.store(TestRedis.state(version: 2, balance: 6), of: user, period: period)
        #expect(await cache.account(of: user, period: period) == nil)
        #expect(!(await cache.ping()))
        // The lane's write is dropped and counted, without waiting long.
        let laneWrite = ContinuousClock.now
        cache.store([laneUser: TestRedis.state(version: 2, balance: 6)], period: period, on: writer)
        #expect(ContinuousClock.now - laneWrite < .seconds(1))
        #expect(failures.count >= 2)
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
        // The lane's connection is opened again too.
        var laneHit: AccountState?
        for _ in 0..<50 where laneHit == nil {
            cache.store([laneUser: TestRedis.state(version: 3, balance: 7)], period: period, on: writer)
            laneHit = await cache.account(of: laneUser, period: period)
            if laneHit == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(laneHit?.balanceFen == Fen(7))
        writer.close()
        await pool.shutdown()
    }

    final class FailedWrites: CacheObserver {
        private let failed = Mutex(0)
        var count: Int { failed.withLock { $0 } }
        func cacheHit() {}
        func cacheMiss() {}
        func cacheFallback() {}
        func cacheWriteFailed() { failed.withLock { $0 += 1 } }
    }
}
