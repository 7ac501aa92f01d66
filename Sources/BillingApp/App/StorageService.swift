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
