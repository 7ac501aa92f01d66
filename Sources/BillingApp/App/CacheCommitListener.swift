import BillingCore
import BillingPostgres
import BillingRedis

/// Writes the accounts a committed lane batch left to the cache before its waiters are
/// answered (so a check after an acknowledged deduction sees it), giving up after a
/// short timeout: a slow or absent Redis delays a batch by that much at most.
struct CacheCommitListener: LaneCommitListener {
    static let timeout: Duration = .milliseconds(50)

    let cache: RedisAccountCache

    func accountsCommitted(_ accounts: [String: AccountState], period: QuotaPeriod) {
        cache.storeWaiting(accounts, period: period, timeout: Self.timeout)
    }

    func accountsUnknown(_ versions: [String: Int64], period: QuotaPeriod) {
        cache.tombstoneWaiting(versions, period: period, timeout: Self.timeout)
    }
}
