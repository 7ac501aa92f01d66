import BillingCore
import BillingPostgres
import Foundation
import Synchronization

/// Authorize + settle pairs per second: through the lanes, against the same pair done as
/// two per-call transactions (the original design's way: lock, change, commit, per call).
enum HoldPairs {
    static let sequence = Atomic<Int>(0)

    static func holdId() -> String { "b\(sequence.add(1, ordering: .relaxed).newValue)" }

    /// Both calls through the lanes (group commit).
    static func lanes(config: PostgresConfig, userCount: Int) async throws -> Measurement {
        let lanes = DeductionLanes(
            config: config, catalog: LaneBenchmark.catalog, calendar: .platformDefault, clock: SystemClock(),
            settings: .init(laneCount: LaneBenchmark.laneCount)
        ).started()
        let measurement = try await LaneBenchmark.run(userCount: userCount) { user in
            let id = holdId()
            _ = try await lanes.perform(
                .authorize(try HoldRequest(userId: user, serviceName: "passport", count: 1, holdId: id)))
            _ = try await lanes.perform(.settle(try HoldSettlement(userId: user, holdId: id, count: 1)))
        }
        await lanes.shutdown()
        return measurement
    }

    /// The same pair as two transactions on pool connections: authorize locks the balance,
    /// checks what is available, keeps 1 fen and inserts the hold; settle locks the hold and
    /// the balance, charges, writes the record and ends the hold.
    static func perCall(config: PostgresConfig, userCount: Int) async throws -> Measurement {
        let pool = PostgresPool(config: config, settings: .init(size: LaneBenchmark.callers)).started()
        let period = BillingCalendar.platformDefault.period(containing: Date()).text
        let measurement = try await LaneBenchmark.run(userCount: userCount) { user in
            let id = holdId()
            try await pool.withConnection { connection in
                try connection.transaction { tx in
                    let row = try tx.query(
                        "SELECT balance_fen - held_fen FROM user_balance WHERE user_id = $1 FOR UPDATE", [user])[0]
                    guard try row.int64(0) >= 1 else { throw BillingError.insufficientBalance(requiredFen: 1, availableFen: 0) }
                    try tx.query("UPDATE user_balance SET held_fen = held_fen + 1 WHERE user_id = $1", [user])
                    try tx.query(
                        """
                        INSERT INTO hold (user_id, hold_id, service_name, count, ttl_seconds, period, free_held, paid_held,
                            held_fen, price_micro_fen, price_version, status, created_at, expires_at)
                        VALUES ($1, $2, 'passport', 1, 300, $3, 0, 1, 1, 1000000, 0, 'pending', now(), now() + interval '300 s')
                        """, [user, id, period])
                }
            }
            try await pool.withConnection { connection in
                try connection.transaction { tx in
                    try tx.query("SELECT 1 FROM user_balance WHERE user_id = $1 FOR UPDATE", [user])
                    try tx.query("SELECT 1 FROM hold WHERE user_id = $1 AND hold_id = $2 FOR UPDATE", [user, id])
                    try tx.query(
                        "UPDATE user_balance SET held_fen = held_fen - 1, balance_fen = balance_fen - 1 WHERE user_id = $1",
                        [user])
                    try tx.query(
                        """
                        INSERT INTO billing_record (id, user_id, service_name, type, count, amount_fen, period, created_at, hold_id)
                        VALUES (nextval('billing_record_id_seq'), $1, 'passport', 2, 1, 1, $2, now(), $3)
                        """, [user, period, id])
                    try tx.query(
                        """
                        UPDATE hold SET status = 'settled', resolved_at = now(), settled_count = 1, settle_cost_fen = 1
                        WHERE user_id = $1 AND hold_id = $2
                        """, [user, id])
                }
            }
        }
        await pool.shutdown()
        return measurement
    }
}
