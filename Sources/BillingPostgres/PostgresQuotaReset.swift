import BillingCore

/// The monthly reset as one set-based statement: every known user (a balance row or any
/// quota row) gets the period's rows; existing rows are left alone, so running it twice,
/// or from two cron instances at once, creates each row once.
public struct PostgresQuotaReset: QuotaResetter {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func createQuotaRows(for period: QuotaPeriod, catalog: ServiceCatalog) async throws(BillingError)
        -> QuotaResetReport
    {
        let names = PostgresText.textArray(catalog.entries.map(\.name))
        let totals = PostgresText.int64Array(catalog.entries.map(\.freeCallsPerMonth))
        let counts = try await pool.withConnection { connection in
            let row = try connection.query(
                """
                WITH known AS (
                    SELECT user_id FROM user_balance UNION SELECT user_id FROM free_quota
                ), created AS (
                    INSERT INTO free_quota (user_id, period, service_name, total)
                    SELECT known.user_id, $1, c.service_name, c.total
                    FROM known CROSS JOIN unnest($2::text[], $3::bigint[]) AS c(service_name, total)
                    ON CONFLICT DO NOTHING
                    RETURNING user_id
                )
                SELECT count(*), count(DISTINCT user_id) FROM created
                """, [period.text, names, totals])[0]
            return (try row.int64(0), try row.int64(1))
        }
        return QuotaResetReport(period: period, rowsCreated: counts.0, usersCovered: counts.1)
    }
}
