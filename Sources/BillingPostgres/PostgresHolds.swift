import BillingCore
import Foundation

/// Reads of holds: a user's pending ones (console) and the sweeper's work list.
public struct PostgresHolds: HoldQueries {
    private let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public func pendingHolds(of userId: String) async throws(BillingError) -> [Hold] {
        try await pool.withConnection { connection in
            try connection.query(
                "SELECT \(HoldRows.columns) FROM hold AS h WHERE h.user_id = $1 AND h.status = 'pending' ORDER BY h.created_at",
                [userId]
            ).all.map(HoldRows.decode)
        }
    }

    /// Pending holds due at `now` (nil: the database's now()), the oldest first.
    public func due(limit: Int, now: Date?) async throws(BillingError) -> [HoldKey] {
        let instant = now.map(PostgresText.microseconds)
        return try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT user_id, hold_id FROM hold
                WHERE status = 'pending' AND expires_at <= COALESCE(\(timestampParameter(1)), now())
                ORDER BY expires_at LIMIT $2
                """, [instant, String(limit)]
            ).all.map { HoldKey(userId: try $0.string(0), holdId: try $0.string(1)) }
        }
    }

    /// Fen kept by every pending hold now.
    public func heldFen() async throws(BillingError) -> Int64 {
        try await pool.withConnection { connection in
            try connection.query("SELECT COALESCE(sum(held_fen), 0)::bigint FROM hold WHERE status = 'pending'")[0]
                .int64(0)
        }
    }
}
