import BillingCore
import Foundation

/// The original service's design, kept as the benchmarks' baseline: one transaction per
/// deduction on a pool connection, `SELECT … FOR UPDATE` on the balance and quota rows,
/// update, insert the records, commit. No group commit, and no idempotency keys (the
/// original had none), so the server refuses it outside development.
public struct PerCallDeductionLedger: DeductionLedger {
    private let pool: PostgresPool
    private let catalog: ServiceCatalog
    private let calendar: BillingCalendar
    private let clock: any BillingClock

    public init(pool: PostgresPool, catalog: ServiceCatalog, calendar: BillingCalendar, clock: any BillingClock) {
        self.pool = pool
        self.catalog = catalog
        self.calendar = calendar
        self.clock = clock
    }

    public func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt {
        let entry = try catalog.entry(named: request.serviceName)
        // The original design knew whole-fen prices only: it has no carry to keep.
        guard entry.price.isWholeFen else {
            throw .invalidConfiguration(
                key: "billing.deduction_strategy", reason: "the per-call baseline charges whole-fen prices only")
        }
        let now = clock.now()
        let period = calendar.period(containing: now)
        let outcome = try await pool.withConnection { connection -> Result<DeductionReceipt, BillingError> in
            try connection.transaction { tx in
                // Rows are created only when missing, as the original did on a user's first call.
                let balance = Fen(
                    try Self.lockedRow(
                        tx, select: "SELECT balance_fen FROM user_balance WHERE user_id = $1 FOR UPDATE",
                        create: "INSERT INTO user_balance (user_id) VALUES ($1) ON CONFLICT DO NOTHING",
                        key: [request.userId], values: []
                    ).int64(0))
                let row = try Self.lockedRow(
                    tx,
                    select: """
                        SELECT total, used FROM free_quota WHERE user_id = $1 AND period = $2 AND service_name = $3
                        FOR UPDATE
                        """,
                    create: """
                        INSERT INTO free_quota (user_id, period, service_name, total) VALUES ($1, $2, $3, $4)
                        ON CONFLICT DO NOTHING
                        """,
                    key: [request.userId, period.text, entry.name], values: [String(entry.freeCallsPerMonth)])
                let quota = try QuotaRows.usage(total: row.int64(0), used: row.int64(1))
                let plan = try DeductionPlan(count: request.count, freeRemaining: quota.remaining, price: entry.price)
                guard plan.isAffordable(with: balance) else {
                    return .failure(.insufficientBalance(requiredFen: plan.costFen.value, availableFen: balance.value))
                }
                try tx.query(
                    "UPDATE user_balance SET balance_fen = balance_fen - $2, updated_at = now() WHERE user_id = $1",
                    [request.userId, String(plan.costFen.value)])
                try tx.query(
                    "UPDATE free_quota SET used = used + $4 WHERE user_id = $1 AND period = $2 AND service_name = $3",
                    [request.userId, period.text, entry.name, String(plan.freeCount)])
                var ids: [Int64] = []
                for (type, count, amount) in [
                    (RecordType.free, plan.freeCount, Fen.zero), (.balance, plan.paidCount, plan.costFen),
                ] where count > 0 {
                    ids.append(
                        try tx.query(
                            """
                            INSERT INTO billing_record (id, user_id, service_name, app_id, type, count, amount_fen,
                                request_id, period, created_at)
                            VALUES (nextval('billing_record_id_seq'), $1, $2, $3, $4, $5, $6, $7, $8, now())
                            RETURNING id
                            """,
                            [
                                request.userId, entry.name, request.appId, String(type.rawValue), String(count),
                                String(amount.value), request.requestId, period.text,
                            ])[0].int64(0))
                }
                return .success(
                    DeductionReceipt(
                        recordIds: ids, freeCount: plan.freeCount, paidCount: plan.paidCount, costFen: plan.costFen,
                        balanceAfterFen: Fen(balance.value - plan.costFen.value),
                        freeRemainingAfter: quota.remaining - plan.freeCount, replayed: false))
            }
        }
        return try outcome.get()
    }

    /// The row `select` finds by `key`, locked; created by `create` (key + values) if missing.
    private static func lockedRow(
        _ tx: PostgresConnection, select: String, create: String, key: [String?], values: [String?]
    ) throws -> PostgresRow {
        if let row = try tx.query(select, key).all.first { return row }
        try tx.query(create, key + values)
        guard let row = try tx.query(select, key).all.first else {
            throw BillingError.internalFailure("row missing right after its creation")
        }
        return row
    }
}
