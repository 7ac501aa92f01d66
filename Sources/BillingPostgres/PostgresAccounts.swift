import BillingCore

/// Reads a user's balance, one period's quota rows, carries and price overrides in one
/// round trip and one snapshot. Creates nothing.
public struct PostgresAccounts: AccountReader {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func account(of userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState {
        let periodText = period.text
        return try await pool.withConnection { connection in
            let results: [PostgresRows]
            do {
                // One snapshot: the balance, its version and the rest belong together.
                results = try connection.pipeline([
                    .sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
                    .sql(
                        """
                        SELECT b.balance_fen, q.service_name, q.total, q.used, b.version, b.carries, b.held_fen, q.held,
                            CASE WHEN b.spend_period = $2 THEN b.spend_fen ELSE 0 END,
                            (SELECT s.monthly_spend_cap_fen FROM user_settings AS s WHERE s.user_id = u.user_id)
                        FROM (SELECT $1::text AS user_id) AS u
                        LEFT JOIN user_balance AS b ON b.user_id = u.user_id
                        LEFT JOIN free_quota AS q ON q.user_id = u.user_id AND q.period = $2
                        """, [userId, periodText]),
                    // Every override: which one covers an instant is decided at that instant.
                    .sql("SELECT \(StoredPrices.overrideColumns) FROM user_price WHERE user_id = $1", [userId]),
                    .sql("COMMIT"),
                ])
            } catch {
                if connection.isOpen { _ = try? connection.query("ROLLBACK") }
                throw error
            }
            var balance = Fen.zero
            var version: Int64 = 0
            var quotas: [String: QuotaUsage] = [:]
            var carries: [String: Int64] = [:]
            var held = Fen.zero
            var spent = Fen.zero
            var cap: Fen?
            for row in results[1].all {
                spent = Fen(try row.optionalInt64(8) ?? 0)
                cap = try row.optionalInt64(9).map(Fen.init)
                balance = Fen(try row.optionalInt64(0) ?? 0)
                version = try row.optionalInt64(4) ?? 0
                held = Fen(try row.optionalInt64(6) ?? 0)
                for (service, carry) in try CarryText.decode(row.optionalString(5) ?? "") { carries[service] = carry }
                if let service = row.optionalString(1) {
                    quotas[service] = try QuotaRows.usage(total: row.int64(2), used: row.int64(3), held: row.int64(7))
                }
            }
            let overrides = try results[2].all.map(StoredPrices.decodeOverride)
            return AccountState(
                balanceFen: balance, quotas: quotas, version: version, carries: carries, overrides: overrides,
                heldFen: held, spentFen: spent, spendCapFen: cap)
        }
    }
}
