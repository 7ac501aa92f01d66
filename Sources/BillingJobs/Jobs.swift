import BillingCore
import BillingPostgres
import Foundation

/// The cron's jobs, each a set-based piece of SQL from BillingPostgres.
public struct BillingJobs: Sendable {
    public static let names = ["reset-free-quota", "expire-recharge-orders", "reconcile"]

    let pool: PostgresPool
    let lock: JobLock
    let catalog: ServiceCatalog
    let calendar: BillingCalendar
    let clock: any BillingClock
    let orderMaxAge: Duration

    public init(
        pool: PostgresPool, lock: JobLock, catalog: ServiceCatalog, calendar: BillingCalendar,
        clock: any BillingClock, orderMaxAge: Duration
    ) {
        self.pool = pool
        self.lock = lock
        self.catalog = catalog
        self.calendar = calendar
        self.clock = clock
        self.orderMaxAge = orderMaxAge
    }

    /// Runs a job by name, under its lock.
    public func run(_ name: String, period: QuotaPeriod? = nil) async throws -> JobReport {
        switch name {
        case "reset-free-quota": try await lock.run(name) { try await resetFreeQuota(period: period) }
        case "expire-recharge-orders": try await lock.run(name) { try await expireRechargeOrders() }
        case "reconcile": try await lock.run(name) { try await reconcile() }
        default: throw BillingError.invalidArgument(field: "job", reason: "one of \(Self.names.joined(separator: ", "))")
        }
    }

    /// Creates the quota rows of the current and the next period for every known user
    /// (or of one given period): the current one in case the run at the month's start was
    /// missed, the next one in advance. Existing rows are left alone.
    func resetFreeQuota(period: QuotaPeriod?) async throws -> JobReport {
        let current = calendar.period(containing: clock.now())
        let periods = period.map { [$0] } ?? [current, current.next]
        let reset = PostgresQuotaReset(pool: pool)
        var lines: [String] = []
        var created: Int64 = 0
        for period in periods {
            let report = try await reset.createQuotaRows(for: period, catalog: catalog, calendar: calendar)
            lines.append("\(period): \(report.rowsCreated) rows created for \(report.usersCovered) users")
            created = created.addingReportingOverflow(report.rowsCreated).partialValue
        }
        return JobReport(
            .done, lines.joined(separator: "; "), measurements: [JobMeasurement(metric: "billing_reset_rows_created"): created])
    }

    func expireRechargeOrders() async throws -> JobReport {
        let cutoff = clock.now().addingTimeInterval(-TimeInterval(orderMaxAge.components.seconds))
        let expired = try await PostgresOrders(pool: pool).expirePending(createdBefore: cutoff)
        return JobReport(.done, "\(expired) pending orders created before \(cutoff) expired")
    }

    /// Never changes money: it reports.
    func reconcile() async throws -> JobReport {
        let report = try await LedgerAudit(pool: pool).run()
        func kind(_ name: String) -> JobMeasurement {
            JobMeasurement(metric: "billing_reconcile_discrepancies", labels: [("kind", name)])
        }
        let measurements: [JobMeasurement: Int64] = [
            kind("balance"): Int64(report.balanceDiscrepancies.count), kind("carry"): Int64(report.carryDiscrepancies.count),
            kind("held"): Int64(report.heldDiscrepancies.count), kind("overused_quota"): Int64(report.overusedQuotaRows),
            kind("answer"): Int64(report.answerDiscrepancies.count),
        ]
        guard !report.isClean else { return JobReport(.done, "ledger consistent", measurements: measurements) }
        let shown = (report.balanceDiscrepancies.prefix(20).map(\.description)
            + report.carryDiscrepancies.prefix(20).map(\.description) + report.heldDiscrepancies.prefix(20)
            + report.answerDiscrepancies.prefix(20))
            .joined(separator: "; ")
        return JobReport(
            .attention,
            "\(report.balanceDiscrepancies.count) balance discrepancies, \(report.carryDiscrepancies.count) carry discrepancies, \(report.heldDiscrepancies.count) held discrepancies, \(report.answerDiscrepancies.count) answer discrepancies, \(report.overusedQuotaRows) overused quota rows: \(shown)",
            measurements: measurements)
    }
}
