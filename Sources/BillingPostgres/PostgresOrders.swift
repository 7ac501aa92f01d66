import BillingCore
import Foundation

/// Recharge orders. The callback runs in one transaction with the order row locked, so
/// two identical callbacks arriving together credit exactly once.
public struct PostgresOrders: RechargeOrderStore {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        id, user_id, amount_fen, currency, payment_method, status, payment_id, pay_url, return_url,
        idempotency_key, failure_reason, \(microsecondsColumn("created_at")), \(microsecondsColumn("paid_at"))
        """

    public func insert(_ order: RechargeOrder) async throws(BillingError) -> OrderInsertOutcome {
        try await pool.withConnection { connection in
            let inserted = try connection.query(
                """
                INSERT INTO recharge_order (id, user_id, amount_fen, currency, payment_method, status, return_url,
                    idempotency_key, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \(timestampParameter(9)))
                ON CONFLICT DO NOTHING
                RETURNING id
                """,
                [
                    order.id, order.userId, String(order.amountFen.value), order.currency, order.method.rawValue,
                    order.status.rawValue, order.returnURL, order.idempotencyKey,
                    PostgresText.microseconds(order.createdAt),
                ])
            if !inserted.isEmpty { return .inserted }
            if let key = order.idempotencyKey, let existing = try Self.find(connection, userId: order.userId, key: key) {
                return .existing(existing)
            }
            return .duplicateId
        }
    }

    public func order(id: String) async throws(BillingError) -> RechargeOrder? {
        try await pool.withConnection { connection in
            try connection.query("SELECT \(Self.columns) FROM recharge_order WHERE id = $1", [id]).all.first
                .map(Self.decode)
        }
    }

    public func order(userId: String, idempotencyKey: String) async throws(BillingError) -> RechargeOrder? {
        try await pool.withConnection { connection in
            try Self.find(connection, userId: userId, key: idempotencyKey)
        }
    }

    public func attachPayment(orderId: String, paymentId: String, payURL: String) async throws(BillingError)
        -> RechargeOrder
    {
        try await pool.withConnection { connection in
            let rows = try connection.query(
                """
                UPDATE recharge_order SET payment_id = COALESCE(payment_id, $2), pay_url = $3, updated_at = now()
                WHERE id = $1 RETURNING \(Self.columns)
                """, [orderId, paymentId, payURL])
            guard let row = rows.all.first else { throw BillingError.orderNotFound(orderId) }
            return try Self.decode(row)
        }
    }

    public func markFailed(orderId: String, reason: String) async throws(BillingError) {
        _ = try await pool.withConnection { connection in
            try connection.query(
                """
                UPDATE recharge_order SET status = 'failed', failure_reason = $2, updated_at = now()
                WHERE id = $1 AND status = 'pending'
                """, [orderId, String(reason.prefix(500))])
        }
    }

    public func settle(_ callback: PaymentCallback, at instant: Date) async throws(BillingError) -> Settlement {
        try await pool.withConnection { connection in
            try connection.transaction { tx in
                let rows =
                    if let orderId = callback.orderId {
                        try tx.query("SELECT \(Self.columns) FROM recharge_order WHERE id = $1 FOR UPDATE", [orderId])
                    } else {
                        try tx.query(
                            "SELECT \(Self.columns) FROM recharge_order WHERE payment_id = $1 FOR UPDATE",
                            [callback.paymentId])
                    }
                guard let row = rows.all.first else {
                    throw BillingError.orderNotFound(callback.orderId ?? callback.paymentId ?? "")
                }
                var order = try Self.decode(row)
                let before = order
                let credit = try order.settle(callback, at: instant)
                if order != before {
                    try tx.query(
                        """
                        UPDATE recharge_order SET status = $2, payment_id = $3, failure_reason = $4,
                            paid_at = \(timestampParameter(5)), updated_at = now()
                        WHERE id = $1
                        """,
                        [
                            order.id, order.status.rawValue, order.paymentId, order.failureReason,
                            order.paidAt.map(PostgresText.microseconds),
                        ])
                }
                guard credit.isPositive else {
                    return Settlement(order: order, creditedFen: .zero, balanceAfterFen: nil)
                }
                // A credit re-arms the balance alerts when it lifts available funds above the
                // user's low-balance threshold (0 without one); its event goes in the same transaction.
                // The threshold is read on its own: Citus refuses subqueries in an INSERT.
                let threshold =
                    try tx.query("SELECT low_balance_threshold_fen FROM user_settings WHERE user_id = $1", [order.userId])
                    .all.first?.optionalInt64(0) ?? 0
                let balance = try tx.query(
                    """
                    INSERT INTO user_balance (user_id, balance_fen, version) VALUES ($1, $2, 1)
                    ON CONFLICT (user_id) DO UPDATE SET balance_fen = user_balance.balance_fen + EXCLUDED.balance_fen,
                        low_armed = user_balance.low_armed
                            OR user_balance.balance_fen + EXCLUDED.balance_fen - user_balance.held_fen > $3::bigint,
                        depleted_armed = user_balance.depleted_armed
                            OR user_balance.balance_fen + EXCLUDED.balance_fen - user_balance.held_fen > $3::bigint,
                        version = user_balance.version + 1, updated_at = EXCLUDED.updated_at
                    RETURNING balance_fen
                    """, [order.userId, String(credit.value), String(threshold)])[0].int64(0)
                try tx.query(
                    "INSERT INTO billing_event (user_id, type, data) VALUES ($1, 'recharge.succeeded', $2::jsonb)",
                    [
                        order.userId,
                        EventRows.json([
                            "orderId": .text(order.id), "amountFen": .int(credit.value), "balanceFen": .int(balance),
                        ]),
                    ])
                return Settlement(order: order, creditedFen: credit, balanceAfterFen: Fen(balance))
            }
        }
    }

    /// Pending orders created before `cutoff` become expired; returns how many. A verified
    /// success callback still credits an expired order later.
    public func expirePending(createdBefore cutoff: Date) async throws(BillingError) -> Int64 {
        try await pool.withConnection { connection in
            Int64(
                try connection.query(
                    """
                    UPDATE recharge_order SET status = 'expired', updated_at = now()
                    WHERE status = 'pending' AND created_at < \(timestampParameter(1))
                    """, [PostgresText.microseconds(cutoff)]
                ).affectedRows)
        }
    }

    private static func find(_ connection: PostgresConnection, userId: String, key: String) throws -> RechargeOrder? {
        try connection.query(
            "SELECT \(columns) FROM recharge_order WHERE user_id = $1 AND idempotency_key = $2", [userId, key]
        ).all.first.map(decode)
    }

    static func decode(_ row: PostgresRow) throws -> RechargeOrder {
        guard let method = PaymentMethod(rawValue: try row.string(4)),
            let status = RechargeStatus(rawValue: try row.string(5))
        else { throw BillingError.internalFailure("recharge_order row with an unknown method or status") }
        let request = try RechargeRequest(
            userId: row.string(1), amountFen: Fen(row.int64(2)), method: method, currency: row.string(3),
            returnURL: row.optionalString(8))
        var order = RechargeOrder(
            id: try row.string(0), request: request, idempotencyKey: row.optionalString(9),
            createdAt: PostgresText.date(microseconds: try row.int64(11)))
        order.status = status
        order.paymentId = row.optionalString(6)
        order.payURL = row.optionalString(7)
        order.failureReason = row.optionalString(10)
        order.paidAt = try row.optionalInt64(12).map(PostgresText.date(microseconds:))
        return order
    }
}
