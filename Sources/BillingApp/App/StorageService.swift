import BillingCore
import BillingPostgres
import BillingRedis
import ServiceLifecycle

/// Owns the database pool and the deduction lanes for the server's lifetime. It is listed
/// before the HTTP server, so on SIGTERM the server stops first (in-flight requests
/// finish), then the lanes commit and answer what is queued, then the pool closes.
struct StorageService: Service {
    let pool: PostgresPool
    let lanes: DeductionLanes
    let redis: RedisPool?

    func run() async throws {
        try? await gracefulShutdown()
        await lanes.shutdown()
        await pool.shutdown()
        await redis?.shutdown()
    }
}

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
