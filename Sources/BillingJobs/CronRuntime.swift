import BillingConfiguration
import BillingCore
import BillingPostgres
import Foundation
import Logging
import ServiceLifecycle

/// Everything the cron needs, built from the configuration, and its teardown.
public struct CronRuntime: Sendable {
    public let jobs: BillingJobs
    public let schedules: [ScheduledJob]
    let pool: PostgresPool
    let lockPool: PostgresPool

    public init(config: CronConfig, clock: any BillingClock = SystemClock()) throws(BillingError) {
        // Reconciliation reads the whole ledger: no statement limit (lock waits stay bounded).
        pool = PostgresPool(config: config.postgres.withoutStatementTimeout, settings: .init(size: 2))
        lockPool = PostgresPool(config: config.postgres.withoutStatementTimeout, settings: .init(size: 1))
        let jobs = BillingJobs(
            pool: pool, lock: JobLock(pool: lockPool), catalog: config.catalog, calendar: config.calendar, clock: clock,
            orderMaxAge: .seconds(config.orderMaxAgeMinutes * 60))
        self.jobs = jobs
        var schedules: [ScheduledJob] = []
        for name in BillingJobs.names {
            let key = "billing.cron.\(name.replacingOccurrences(of: "-", with: "_"))"
            let expression: CronExpression
            do {
                expression = try CronExpression(config.schedules[name] ?? "")
            } catch {
                throw .invalidConfiguration(key: key, reason: error.description)
            }
            schedules.append(ScheduledJob(name: name, schedule: expression) { try await jobs.run(name) })
        }
        self.schedules = schedules
    }

    /// The pools, for a ServiceGroup: listed before the scheduler, they start first and
    /// close after it stopped.
    public var services: [any Service] { [pool, lockPool] }

    /// For a one-shot run outside a ServiceGroup.
    public func start() {
        pool.start()
        lockPool.start()
    }

    public func shutdown() async {
        await pool.shutdown()
        await lockPool.shutdown()
    }
}
