import BillingCore

/// Checks the ledger's invariants from the stored rows: for every user, balance =
/// successful recharges − balance charges, and no quota row with used > total. Used by
/// the tests after every integration test and by the cron's reconciliation job.
public struct LedgerAudit: Sendable {
    public struct Discrepancy: Sendable, Hashable, CustomStringConvertible {
        public let userId: String
        public let balanceFen: Int64
        public let rechargedFen: Int64
        public let chargedFen: Int64

        public var description: String {
            "user \(userId): balance \(balanceFen) fen, recharged \(rechargedFen) − charged \(chargedFen) = \(rechargedFen - chargedFen)"
        }
    }

    public struct Report: Sendable, Hashable {
        public let balanceDiscrepancies: [Discrepancy]
        public let overusedQuotaRows: Int64

        public var isClean: Bool { balanceDiscrepancies.isEmpty && overusedQuotaRows == 0 }
    }

    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func run() async throws(BillingError) -> Report {
        try await pool.withConnection { connection in
            let rows = try connection.query(
                """
                WITH credits AS (
                    SELECT user_id, sum(amount_fen)::bigint AS fen FROM recharge_order WHERE status = 'success'
                    GROUP BY user_id
                ), charges AS (
                    SELECT user_id, sum(amount_fen)::bigint AS fen FROM billing_record WHERE type = 2 GROUP BY user_id
                ), users AS (
                    SELECT user_id FROM user_balance UNION SELECT user_id FROM credits UNION SELECT user_id FROM charges
                )
                SELECT u.user_id, COALESCE(b.balance_fen, 0), COALESCE(c.fen, 0), COALESCE(d.fen, 0)
                FROM users u
                LEFT JOIN user_balance b ON b.user_id = u.user_id
                LEFT JOIN credits c ON c.user_id = u.user_id
                LEFT JOIN charges d ON d.user_id = u.user_id
                WHERE COALESCE(b.balance_fen, 0) <> COALESCE(c.fen, 0) - COALESCE(d.fen, 0)
                ORDER BY u.user_id
                """)
            let discrepancies = try rows.all.map { row in
                Discrepancy(
                    userId: try row.string(0), balanceFen: try row.int64(1), rechargedFen: try row.int64(2),
                    chargedFen: try row.int64(3))
            }
            let overused = try connection.query("SELECT count(*) FROM free_quota WHERE used > total OR used < 0")[0]
                .int64(0)
            return Report(balanceDiscrepancies: discrepancies, overusedQuotaRows: overused)
        }
    }
}
