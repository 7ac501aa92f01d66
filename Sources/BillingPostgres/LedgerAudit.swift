import BillingCore

/// Checks the ledger's invariants from the stored rows: for every user, balance =
/// successful recharges − balance charges; for every (user, service),
/// `Σ fen × 10⁶ + carry = Σ units × price` exactly; what pending holds keep equals what
/// the balance and quota rows say they keep; no quota row with used > total; and every
/// stored deduction answer names, as its second record, a paid record of the same request.
/// Used by the tests after every integration test and by the cron's reconciliation job.
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

    /// A (user, service) whose charges and carry do not add up to units × price. Sums are
    /// decimal text: they are computed in `numeric` and may exceed Int64 µfen.
    public struct CarryDiscrepancy: Sendable, Hashable, CustomStringConvertible {
        public let userId: String
        public let serviceName: String
        public let chargedMicroFen: String
        public let carryMicroFen: Int64
        public let exactMicroFen: String

        public var description: String {
            "user \(userId) service \(serviceName): charged \(chargedMicroFen) µfen + carry \(carryMicroFen) µfen ≠ units × price \(exactMicroFen) µfen"
        }
    }

    public struct Report: Sendable, Hashable {
        public let balanceDiscrepancies: [Discrepancy]
        public let carryDiscrepancies: [CarryDiscrepancy]
        public let overusedQuotaRows: Int64
        /// Balance or quota rows whose held amounts differ from the sums of their pending holds.
        public let heldDiscrepancies: [String]
        /// Stored deduction answers whose second record is missing or not the same request's paid part.
        public let answerDiscrepancies: [String]

        public var isClean: Bool {
            balanceDiscrepancies.isEmpty && carryDiscrepancies.isEmpty && overusedQuotaRows == 0
                && heldDiscrepancies.isEmpty && answerDiscrepancies.isEmpty
        }
    }

    /// What pending holds keep must be exactly what the balance and quota rows say they keep.
    static let heldSQL = """
        WITH pending AS (
            SELECT user_id, sum(held_fen)::bigint AS fen FROM hold WHERE status = 'pending' GROUP BY user_id
        ), pending_free AS (
            SELECT user_id, period, service_name, sum(free_held)::bigint AS held FROM hold
            WHERE status = 'pending' GROUP BY user_id, period, service_name
        )
        SELECT 'user ' || COALESCE(b.user_id, p.user_id) || ': held_fen ' || COALESCE(b.held_fen, 0)
            || ', pending holds keep ' || COALESCE(p.fen, 0)
        FROM (SELECT user_id, held_fen FROM user_balance WHERE held_fen <> 0) AS b
        FULL JOIN pending AS p ON p.user_id = b.user_id
        WHERE COALESCE(b.held_fen, 0) <> COALESCE(p.fen, 0)
        UNION ALL
        SELECT 'user ' || COALESCE(q.user_id, f.user_id) || ' ' || COALESCE(q.service_name, f.service_name) || ' '
            || COALESCE(q.period, f.period) || ': held ' || COALESCE(q.held, 0) || ', pending holds keep '
            || COALESCE(f.held, 0)
        FROM (SELECT user_id, period, service_name, held FROM free_quota WHERE held <> 0) AS q
        FULL JOIN pending_free AS f
            ON f.user_id = q.user_id AND f.period = q.period AND f.service_name = q.service_name
        WHERE COALESCE(q.held, 0) <> COALESCE(f.held, 0)
        """

    /// A deduction's answer is on its first record (0009_answer_in_record.sql); one with a free
    /// and a paid part names the paid record, which belongs to the same user, request and
    /// service and carries no answer of its own.
    static let answerSQL = """
        SELECT 'user ' || a.user_id || ' request ' || a.request_id || ': record ' || a.id || ' names '
            || a.paired_record_id || CASE WHEN p.id IS NULL THEN ', which does not exist'
                ELSE ', not the paid part of the same request' END
        FROM billing_record AS a
        LEFT JOIN billing_record AS p ON p.user_id = a.user_id AND p.id = a.paired_record_id
        WHERE a.balance_after_fen IS NOT NULL AND a.paired_record_id IS NOT NULL
            AND (p.id IS NULL OR a.type <> 1 OR p.type <> 2 OR p.request_id IS DISTINCT FROM a.request_id
                OR p.service_name <> a.service_name OR p.balance_after_fen IS NOT NULL)
        ORDER BY a.user_id, a.id
        """

    /// Records written before prices were stored had whole-fen prices: their exact cost is
    /// their amount.
    static let carrySQL = """
        WITH carried AS (
            SELECT b.user_id, split_part(c.item, ':', 1) AS service_name, split_part(c.item, ':', 2)::bigint AS carry
            FROM user_balance AS b, regexp_split_to_table(b.carries, ',') AS c(item) WHERE b.carries <> ''
        ), paid AS (
            -- Net of refunds (type 3: paid units given back, at the price they were charged).
            SELECT user_id, service_name,
                sum(CASE WHEN type = 2 THEN amount_fen ELSE -amount_fen END)::numeric * 1000000 AS charged,
                sum((CASE WHEN type = 2 THEN 1 ELSE -1 END) * CASE WHEN price_micro_fen IS NULL
                    THEN amount_fen::numeric * 1000000 ELSE count::numeric * price_micro_fen END) AS exact
            FROM billing_record WHERE type IN (2, 3) GROUP BY user_id, service_name
        )
        SELECT COALESCE(p.user_id, c.user_id), COALESCE(p.service_name, c.service_name),
            COALESCE(p.charged, 0)::text, COALESCE(c.carry, 0), COALESCE(p.exact, 0)::text
        FROM paid AS p FULL JOIN carried AS c ON c.user_id = p.user_id AND c.service_name = p.service_name
        WHERE COALESCE(p.charged, 0) + COALESCE(c.carry, 0) <> COALESCE(p.exact, 0)
        ORDER BY 1, 2
        """

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
                    -- Charges less refunds, less adjustments (a credit is a negative charge).
                    SELECT user_id, sum(CASE type WHEN 2 THEN amount_fen ELSE -amount_fen END)::bigint AS fen
                    FROM billing_record WHERE type IN (2, 3, 4) GROUP BY user_id
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
            let carries = try connection.query(Self.carrySQL).all.map { row in
                CarryDiscrepancy(
                    userId: try row.string(0), serviceName: try row.string(1), chargedMicroFen: try row.string(2),
                    carryMicroFen: try row.int64(3), exactMicroFen: try row.string(4))
            }
            let overused = try connection.query("SELECT count(*) FROM free_quota WHERE used > total OR used < 0")[0]
                .int64(0)
            let held = try connection.query(Self.heldSQL).all.map { try $0.string(0) }
            let answers = try connection.query(Self.answerSQL).all.map { try $0.string(0) }
            return Report(
                balanceDiscrepancies: discrepancies, carryDiscrepancies: carries, overusedQuotaRows: overused,
                heldDiscrepancies: held, answerDiscrepancies: answers)
        }
    }
}
