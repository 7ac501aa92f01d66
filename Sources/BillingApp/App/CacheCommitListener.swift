import BillingCore
import BillingPostgres
import BillingRedis

/// Writes the accounts a committed lane batch left to the cache before its waiters are
/// answered (so a check after an acknowledged deduction sees it), each lane on a Redis
/// connection of its own, giving up after a short timeout: a slow or absent Redis delays a
/// batch by about that much at most.
struct CacheCommitListener: LaneCommitListener {
    static let timeout: Duration = .milliseconds(50)

    let cache: RedisAccountCache
    /// One per lane, used only on that lane's thread.
    let writers: [RedisDirect]

    init(cache: RedisAccountCache, lanes: Int) {
        self.cache = cache
        writers = (0..<max(1, lanes)).map { _ in cache.laneWriter(timeout: Self.timeout) }
    }

    func accountsCommitted(_ accounts: [String: AccountState], period: QuotaPeriod, lane: Int) {
        cache.store(accounts, period: period, on: writers[lane % writers.count])
    }

    func accountsUnknown(_ versions: [String: Int64], period: QuotaPeriod, lane: Int) {
        cache.tombstone(versions, period: period, on: writers[lane % writers.count])
    }

    func laneStopped(_ lane: Int) { writers[lane % writers.count].close() }
}
