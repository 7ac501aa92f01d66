extension LaneStatement {
    /// A coordinator session's `lock_timeout` does not reach the workers, where the row locks
    /// are waited for; a `SET LOCAL` does, when Citus is told to pass those on.
    static let citusSessionSettings = ["SET citus.propagate_set_commands = 'local'"]

    /// What a lane runs after BEGIN on Citus: its lock timeout, for the worker's transaction.
    static func citusTransactionSettings(_ config: PostgresConfig) -> [String] {
        config.lockTimeoutMilliseconds.map { ["SET LOCAL lock_timeout = \($0)"] } ?? []
    }

    /// The statement as Citus runs it. A lane batch holds one shard's users (`CitusShards`),
    /// so every statement filters the distribution column with `user_id = ANY(…)` and Citus
    /// routes it whole to that shard's worker. Citus cannot push down the plan-stable
    /// `unnest(…) CROSS JOIN LATERAL (… LIMIT 1)` lookups ("Limit clause is currently
    /// unsupported when a lateral subquery references a column from a table function"), so
    /// the key pairs are matched with `(user_id, key) IN (SELECT … FROM unnest(…))` instead;
    /// the worker's planner then sees one shard's rows. Statements without such a lookup
    /// run as written.
    var citusSQL: String {
        switch self {
        case .lockHoldQuotas:
            """
            SELECT q.user_id, q.service_name, q.total, q.used, q.held, q.period FROM free_quota AS q
            WHERE q.user_id = ANY($1::text[]) AND (q.user_id, q.period, q.service_name) IN (
                SELECT h.user_id, h.period, h.service_name FROM hold AS h
                WHERE h.user_id = ANY($1::text[])
                    AND (h.user_id, h.hold_id) IN (SELECT * FROM unnest($1::text[], $2::text[])))
            ORDER BY q.user_id, q.period, q.service_name FOR UPDATE OF q
            """
        case .lockHolds:
            """
            SELECT \(HoldRows.columns) FROM hold AS h
            WHERE h.user_id = ANY($1::text[]) AND (h.user_id, h.hold_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            ORDER BY h.user_id, h.hold_id FOR UPDATE
            """
        case .readIdempotency:
            """
            SELECT \(Self.answerColumns)
            FROM billing_record AS a
            LEFT JOIN billing_record AS p ON p.user_id = a.user_id AND p.id = a.paired_record_id
            WHERE a.user_id = ANY($1::text[]) AND a.balance_after_fen IS NOT NULL
                AND (a.user_id, a.request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """
        case .readRefundTargets:
            """
            SELECT \(PostgresLedgerQueries.recordColumns), target_kind, target_id FROM (
                SELECT r.*, t.kind AS target_kind, t.id AS target_id
                FROM (
                    SELECT a.user_id, 'deduction'::text AS kind, a.request_id AS id, ARRAY[a.id, a.paired_record_id] AS ids
                    FROM billing_record AS a
                    WHERE a.user_id = ANY($1::text[]) AND a.balance_after_fen IS NOT NULL
                        AND (a.user_id, 'deduction'::text, a.request_id) IN (
                            SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
                    UNION ALL
                    SELECT h.user_id, 'hold'::text, h.hold_id, h.settle_record_ids FROM hold AS h
                    WHERE h.user_id = ANY($1::text[]) AND h.status = 'settled' AND (h.user_id, 'hold'::text, h.hold_id) IN (
                        SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
                ) AS t
                JOIN billing_record AS r ON r.user_id = t.user_id AND r.id = ANY(t.ids)
                WHERE r.user_id = ANY($1::text[])
            ) AS x
            """
        case .readRefunds:
            """
            SELECT user_id, refund_id, target_kind, target_id, count, reason, paid_refunded, free_refunded,
                free_returned, fen_returned, balance_after_fen, record_ids
            FROM refund AS f
            WHERE f.user_id = ANY($1::text[]) AND (f.user_id, f.target_kind, f.target_id) IN (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))
            UNION
            SELECT user_id, refund_id, target_kind, target_id, count, reason, paid_refunded, free_refunded,
                free_returned, fen_returned, balance_after_fen, record_ids
            FROM refund AS f
            WHERE f.user_id = ANY($4::text[]) AND (f.user_id, f.refund_id) IN (SELECT * FROM unnest($4::text[], $5::text[]))
            """
        case .readAdjustments:
            """
            SELECT a.user_id, a.adjustment_id, a.amount_fen, a.reason, a.operator, a.balance_after_fen,
                a.available_after_fen, a.record_id
            FROM adjustment AS a
            WHERE a.user_id = ANY($1::text[]) AND (a.user_id, a.adjustment_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
            """
        case .updateHolds:
            """
            \(Self.holdEnds)
            WHERE h.user_id = ANY($1::text[]) AND h.user_id = v.user_id AND h.hold_id = v.hold_id
                AND h.status = 'pending'
            """
        default:
            sql
        }
    }
}
