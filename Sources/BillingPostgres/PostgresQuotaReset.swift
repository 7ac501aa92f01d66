import BillingCore

/// The monthly reset, set-based and in chunks: every known user (a balance row or any
/// quota row) gets the period's rows; existing rows are left alone, so running it twice,
/// or from two cron instances at once, creates each row once.
///
/// Each chunk of `chunkUsers` users is its own short transaction that inserts in
/// (user, service) order, the order the lanes lock in: a lane creating a new user's row at
/// 00:00 on the 1st waits for one chunk at most, and the two cannot deadlock.
public struct PostgresQuotaReset: Sendable {
    public static let defaultChunkUsers = 5_000
    /// A chunk that meets a lock held too long (lock_timeout) is tried again this often.
    static let maxChunkAttempts = 5

    private let pool: PostgresPool
    private let chunkUsers: Int

    public init(pool: PostgresPool, chunkUsers: Int = Self.defaultChunkUsers) {
        precondition(chunkUsers > 0, "a chunk holds at least one user")
        self.pool = pool
        self.chunkUsers = chunkUsers
    }

    static let chunkSQL = """
        WITH known AS (
            SELECT user_id FROM (
                (SELECT user_id FROM user_balance WHERE user_id > $4 ORDER BY user_id LIMIT $5)
                UNION
                (SELECT DISTINCT user_id FROM free_quota WHERE user_id > $4 ORDER BY user_id LIMIT $5)
            ) AS u ORDER BY user_id LIMIT $5
        ), catalog AS (
            -- Each service's allowance in force at the period's first instant ($6, µs); the
            -- configured one ($3) for a service no version covers yet.
            SELECT c.service_name, COALESCE((
                SELECT p.free_calls_per_month FROM service_price AS p
                WHERE p.service_name = c.service_name AND p.effective_from <= \(timestampParameter(6))
                ORDER BY p.effective_from DESC LIMIT 1), c.total) AS total
            FROM unnest($2::text[], $3::bigint[]) AS c(service_name, total)
        ), created AS (
            INSERT INTO free_quota (user_id, period, service_name, total)
            SELECT known.user_id, $1, c.service_name, c.total
            FROM known CROSS JOIN catalog AS c
            ORDER BY known.user_id, c.service_name
            ON CONFLICT DO NOTHING
            RETURNING user_id
        )
        SELECT (SELECT max(user_id) FROM known), (SELECT count(*) FROM created),
            (SELECT count(DISTINCT user_id) FROM created)
        """

    /// Creates the period's rows of `catalog`'s services, each with the allowance of the
    /// stored price version in force at the period's first instant (in `calendar`'s zone).
    public func createQuotaRows(
        for period: QuotaPeriod, catalog: ServiceCatalog, calendar: BillingCalendar = .platformDefault
    ) async throws(BillingError) -> QuotaResetReport {
        let names = PostgresText.textArray(catalog.entries.map(\.name))
        let totals = PostgresText.int64Array(catalog.entries.map(\.freeCallsPerMonth))
        let start = PostgresText.microseconds(calendar.bounds(of: period).lowerBound)
        var after = ""
        var rows: Int64 = 0
        var users: Int64 = 0
        while true {
            let chunk = try await createChunk(
                period: period, names: names, totals: totals, start: start, after: after, services: catalog)
            // Counts are bounded by chunk sizes: the sums cannot overflow in any real run,
            // but a wrong reply must not trap either.
            rows = rows.addingReportingOverflow(chunk.rows).partialValue
            users = users.addingReportingOverflow(chunk.users).partialValue
            guard let last = chunk.lastUser else { break }
            after = last
        }
        if rows > 0 {
            // Millions of new rows of a period no statistics know yet: refresh them now rather
            // than at autovacuum's next pass (the lanes' plans do not depend on them, but the
            // reports, statistics and reconcile queries do).
            try await pool.withConnection { connection -> Void in try connection.query("ANALYZE free_quota") }
        }
        return QuotaResetReport(period: period, rowsCreated: rows, usersCovered: users)
    }

    private func createChunk(
        period: QuotaPeriod, names: String, totals: String, start: String, after: String, services: ServiceCatalog
    ) async throws(BillingError) -> (lastUser: String?, rows: Int64, users: Int64) {
        let parameters = [period.text, names, totals, after, String(chunkUsers), start]
        let serviceNames = services.entries.map(\.name)
        var attempt = 1
        while true {
            do {
                return try await pool.withConnection { connection in
                    try connection.transaction { tx in
                        // Shared with each other, exclusive with an operator adding a version of
                        // the service (which rewrites the totals of rows already created): the
                        // chunk reads the allowance after any such change has committed.
                        for name in serviceNames {
                            try tx.query("SELECT pg_advisory_xact_lock_shared(hashtext('billing-price:' || $1))", [name])
                        }
                        let row = try tx.query(Self.chunkSQL, parameters)[0]
                        return (row.optionalString(0), try row.int64(1), try row.int64(2))
                    }
                }
            } catch {
                // Busy (a lock wait past lock_timeout) or briefly down: the chunk is one
                // statement, rolled back whole, so trying it again is safe.
                guard case .unavailable = error, attempt < Self.maxChunkAttempts else { throw error }
                attempt += 1
                try? await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
    }
}
