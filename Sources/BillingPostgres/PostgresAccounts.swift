import BillingCore

/// Reads a user's balance and one period's quota rows in one round trip. Creates nothing.
public struct PostgresAccounts: AccountReader {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func account(of userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState {
        let periodText = period.text
        return try await pool.withConnection { connection in
            let rows = try connection.query(
                """
                SELECT b.balance_fen, q.service_name, q.total, q.used, b.version
                FROM (SELECT $1::text AS user_id) AS u
                LEFT JOIN user_balance AS b ON b.user_id = u.user_id
                LEFT JOIN free_quota AS q ON q.user_id = u.user_id AND q.period = $2
                """, [userId, periodText])
            var balance = Fen.zero
            var version: Int64 = 0
            var quotas: [String: QuotaUsage] = [:]
            for row in rows.all {
                balance = Fen(try row.optionalInt64(0) ?? 0)
                version = try row.optionalInt64(4) ?? 0
                if let service = row.optionalString(1) {
                    quotas[service] = try QuotaRows.usage(total: row.int64(2), used: row.int64(3))
                }
            }
            return AccountState(balanceFen: balance, quotas: quotas, version: version)
        }
    }
}
