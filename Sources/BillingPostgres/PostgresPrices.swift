import BillingCore
import Foundation

/// The price store on PostgreSQL: `service_price` versions and `user_price` overrides.
public struct PostgresPrices: PriceStore {
    private let pool: PostgresPool
    private let stored: StoredPrices

    public init(pool: PostgresPool, stored: StoredPrices) {
        self.pool = pool
        self.stored = stored
    }

    /// The configured services this store prices.
    public var catalog: ServiceCatalog { stored.catalog }

    public func priceBook() async throws(BillingError) -> PriceBook {
        if let book = stored.cached() { return book }
        let stored = stored
        return try await pool.withConnection { connection in try stored.book(on: connection) }
    }

    public func addVersion(_ version: NewPriceVersion, calendar: BillingCalendar) async throws(BillingError)
        -> Stored<PriceVersion>
    {
        let stored = stored
        let version = NewPriceVersion(
            serviceName: version.serviceName, effectiveFrom: StoredPrices.stored(version.effectiveFrom),
            price: version.price, freeCallsPerMonth: version.freeCallsPerMonth, operatorName: version.operatorName)
        let result = try await pool.withConnection { connection in
            try connection.transaction { tx in
                // One operator change of a service at a time: the allowance it inherits and the
                // quota rows it rewrites are decided on a stable list of versions.
                try tx.query("SELECT pg_advisory_xact_lock(hashtext('billing-price:' || $1))", [version.serviceName])
                let book = try stored.reload(on: tx)
                let existing = try book.versions(of: version.serviceName)
                if let same = existing.first(where: { $0.effectiveFrom == version.effectiveFrom }) {
                    guard same.price == version.price,
                        version.freeCallsPerMonth.map({ $0 == same.freeCallsPerMonth }) ?? true
                    else {
                        throw BillingError.idempotencyConflict(
                            requestId: "\(version.serviceName)@\(version.effectiveFrom.formatted(.iso8601))")
                    }
                    return Stored(same, replayed: true)
                }
                let free =
                    try version.freeCallsPerMonth
                    ?? book.version(of: version.serviceName, at: version.effectiveFrom).freeCallsPerMonth
                let row = try tx.query(
                    """
                    INSERT INTO service_price (service_name, effective_from, price_micro_fen, free_calls_per_month,
                        created_by)
                    VALUES ($1, \(timestampParameter(2)), $3, $4, $5)
                    RETURNING id, service_name, \(microsecondsColumn("effective_from")), price_micro_fen,
                        free_calls_per_month
                    """,
                    [
                        version.serviceName, PostgresText.microseconds(version.effectiveFrom),
                        String(version.price.microFen), String(free), version.operatorName,
                    ])[0]
                let added = try StoredPrices.decodeVersion(row)
                let periods = Self.periodsGoverned(by: added, among: existing, calendar: calendar)
                if !periods.isEmpty {
                    try tx.query(
                        """
                        UPDATE free_quota SET total = GREATEST($3::bigint, used + held), version = version + 1,
                            updated_at = now()
                        WHERE service_name = $1 AND period = ANY($2::text[])
                            AND total <> GREATEST($3::bigint, used + held)
                        """, [added.serviceName, PostgresText.textArray(periods.map(\.text)), String(free)])
                }
                return Stored(added, replayed: false)
            }
        }
        stored.invalidate()
        return result
    }

    /// Periods whose first instant falls in [the version's start, the next version's start),
    /// up to two years ahead: the only ones whose rows can exist before they begin.
    static func periodsGoverned(by version: PriceVersion, among others: [PriceVersion], calendar: BillingCalendar)
        -> [QuotaPeriod]
    {
        let next = others.map(\.effectiveFrom).filter { $0 > version.effectiveFrom }.min() ?? .distantFuture
        var period = calendar.period(containing: version.effectiveFrom)
        var periods: [QuotaPeriod] = []
        for _ in 0..<25 {
            let start = calendar.bounds(of: period).lowerBound
            if start >= next { break }
            if start >= version.effectiveFrom { periods.append(period) }
            period = period.next
        }
        return periods
    }

    public func addOverride(_ override: NewPriceOverride) async throws(BillingError) -> Stored<PriceOverride> {
        let override = NewPriceOverride(
            userId: override.userId, serviceName: override.serviceName, price: override.price,
            from: StoredPrices.stored(override.from), to: override.to.map(StoredPrices.stored),
            operatorName: override.operatorName)
        return try await pool.withConnection { connection in
            try connection.transaction { tx in
                // The balance row is the user's lock (the lanes take it first too): overrides of
                // one user are checked for overlap one at a time, and the version bump tells
                // every cached copy of the account that it changed.
                try tx.query("INSERT INTO user_balance (user_id) VALUES ($1) ON CONFLICT DO NOTHING", [override.userId])
                try tx.query("SELECT 1 FROM user_balance WHERE user_id = $1 FOR UPDATE", [override.userId])
                let existing = try tx.query(
                    """
                    SELECT \(StoredPrices.overrideColumns) FROM user_price
                    WHERE user_id = $1 AND service_name = $2 ORDER BY valid_from
                    """, [override.userId, override.serviceName]
                ).all.map(StoredPrices.decodeOverride)
                if let same = existing.first(where: { $0.from == override.from }),
                    same.price == override.price, same.to == override.to
                {
                    return Stored(same, replayed: true)
                }
                if let clash = existing.first(where: { $0.overlaps(from: override.from, to: override.to) }) {
                    throw BillingError.priceOverlap(
                        "user '\(override.userId)' already has price override \(clash.id) for '\(override.serviceName)' from \(clash.from.formatted(.iso8601))"
                            + (clash.to.map { " to \($0.formatted(.iso8601))" } ?? " with no end"))
                }
                let row = try tx.query(
                    """
                    INSERT INTO user_price (user_id, service_name, price_micro_fen, valid_from, valid_to, created_by)
                    VALUES ($1, $2, $3, \(timestampParameter(4)), CASE WHEN $5::bigint IS NULL THEN NULL
                        ELSE \(timestampParameter(5)) END, $6)
                    RETURNING \(StoredPrices.overrideColumns)
                    """,
                    [
                        override.userId, override.serviceName, String(override.price.microFen),
                        PostgresText.microseconds(override.from), override.to.map(PostgresText.microseconds),
                        override.operatorName,
                    ])[0]
                try tx.query(
                    "UPDATE user_balance SET version = version + 1, updated_at = now() WHERE user_id = $1",
                    [override.userId])
                return Stored(try StoredPrices.decodeOverride(row), replayed: false)
            }
        }
    }

    public func overrides(of userId: String) async throws(BillingError) -> [PriceOverride] {
        try await pool.withConnection { connection in
            try connection.query(
                "SELECT \(StoredPrices.overrideColumns) FROM user_price WHERE user_id = $1 ORDER BY service_name, valid_from",
                [userId]
            ).all.map(StoredPrices.decodeOverride)
        }
    }
}
