import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// Prices below one fen and over time on real PostgreSQL, through the lanes
/// (ledger-features.md §4).
@Suite("Prices in the store: the carry, versions and overrides through the lanes")
struct PricingStoreTests {
    /// tokens at 0.3 fen a call with no free calls; passport as usual.
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "tokens", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 0),
        CatalogEntry(name: "passport", priceFen: Fen(1), freeCallsPerMonth: 0),
    ])

    @Test("1,000,000 calls at 0.3 fen cost exactly 300,000 fen, and the next call is refused")
    func millionCalls() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("heavy", fen: 300_000)
            var random = FuzzRandom()
            var counts: [Int64] = []
            var left: Int64 = 1_000_000
            while left > 0 {
                let count = min(left, Int64.random(in: 1...999, using: &random))
                counts.append(count)
                left -= count
            }
            let calls = counts
            // 100 callers at once, so the lanes batch them as in production.
            let charged = try await withThrowingTaskGroup(of: Int64.self) { group in
                for worker in 0..<100 {
                    group.addTask {
                        var fen: Int64 = 0
                        for index in stride(from: worker, to: calls.count, by: 100) {
                            fen += try await db.deduct("heavy", "tokens", count: calls[index]).costFen.value
                        }
                        return fen
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(charged == 300_000)
            let state = try await db.accounts.account(of: "heavy", period: db.period)
            #expect(state.balanceFen == .zero && state.carry(of: "tokens") == 0)
            // One more call needs a whole fen behind it.
            await #expect(throws: BillingError.insufficientBalance(requiredFen: 1, availableFen: 0)) {
                try await db.deduct("heavy", "tokens")
            }
        }
    }

    @Test("a price change at an instant: batches before use the old version, after it the new one; an override wins and stops")
    func priceChange() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            let t0 = db.clock.now()
            let change = t0.addingTimeInterval(120)
            let added = try await db.pricing.addVersion(
                serviceName: "tokens", price: try UnitPrice(yuanText: "0.0007"), freeCallsPerMonth: nil,
                effectiveFrom: change, operatorName: "ops alice")
            #expect(!added.replayed && added.value.price.microFen == 70_000)
            let override = try await db.pricing.addOverride(
                userId: "vip", serviceName: "tokens", price: try UnitPrice(microFen: 1), from: t0.addingTimeInterval(90),
                to: t0.addingTimeInterval(180), operatorName: "ops alice")
            for user in ["plain", "vip"] { try await db.fund(user, fen: 10_000) }

            // Bursts of concurrent deductions (so the lanes batch them) while the clock moves
            // 5 s at a time across both boundaries.
            for step in 0..<48 {
                db.clock.advance(seconds: 5)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<16 {
                        group.addTask {
                            _ = try await db.deduct(worker % 2 == 0 ? "plain" : "vip", "tokens", count: Int64(1 + (step + worker) % 7))
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let rows = try await db.pool.withConnection { connection in
                try connection.query(
                    """
                    SELECT count(*) FILTER (WHERE r.price_version IS DISTINCT FROM v.id),
                        count(*) FILTER (WHERE r.price_override IS DISTINCT FROM o.id),
                        count(*) FILTER (WHERE r.price_micro_fen IS DISTINCT FROM COALESCE(o.price_micro_fen, v.price_micro_fen)),
                        count(DISTINCT r.price_version), count(*) FILTER (WHERE r.price_override IS NOT NULL),
                        count(*) FILTER (WHERE r.user_id = 'vip' AND r.price_override IS NULL)
                    FROM billing_record AS r
                    CROSS JOIN LATERAL (
                        SELECT id, price_micro_fen FROM service_price AS p
                        WHERE p.service_name = r.service_name AND p.effective_from <= r.created_at
                        ORDER BY p.effective_from DESC LIMIT 1) AS v
                    LEFT JOIN user_price AS o ON o.user_id = r.user_id AND o.service_name = r.service_name
                        AND o.valid_from <= r.created_at AND (o.valid_to IS NULL OR r.created_at < o.valid_to)
                    WHERE r.type = 2
                    """)[0]
            }
            #expect(try rows.int64(0) == 0, "records priced by a version not in force at their instant")
            #expect(try rows.int64(1) == 0, "records with the wrong override")
            #expect(try rows.int64(2) == 0, "records with the wrong price")
            #expect(try rows.int64(3) == 2, "the run straddles the change")
            #expect(try rows.int64(4) > 0 && rows.int64(5) > 0, "the override applied, and stopped")
            #expect(override.value.id > 0)
        }
    }

    @Test("operator rules: a minute ahead, idempotent by natural key, overlaps refused, nothing changed")
    func operatorRules() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            let now = db.clock.now()
            let price = try UnitPrice(yuanText: "0.002")
            await #expect(throws: BillingError.invalidArgument(field: "effective_from", reason: "must be at least one minute ahead")) {
                try await db.pricing.addVersion(
                    serviceName: "tokens", price: price, freeCallsPerMonth: nil, effectiveFrom: now.addingTimeInterval(59),
                    operatorName: "ops")
            }
            await #expect(throws: BillingError.operatorRequired) {
                try await db.pricing.addVersion(
                    serviceName: "tokens", price: price, freeCallsPerMonth: nil, effectiveFrom: now.addingTimeInterval(600),
                    operatorName: "")
            }
            await #expect(throws: BillingError.unknownService("maps")) {
                try await db.pricing.addVersion(
                    serviceName: "maps", price: price, freeCallsPerMonth: nil, effectiveFrom: now.addingTimeInterval(600),
                    operatorName: "ops")
            }
            let at = now.addingTimeInterval(600)
            let first = try await db.pricing.addVersion(
                serviceName: "tokens", price: price, freeCallsPerMonth: 7, effectiveFrom: at, operatorName: "ops")
            let again = try await db.pricing.addVersion(
                serviceName: "tokens", price: price, freeCallsPerMonth: 7, effectiveFrom: at, operatorName: "ops")
            #expect(!first.replayed && again.replayed && again.value == first.value)
            await #expect(throws: BillingError.self) {
                try await db.pricing.addVersion(
                    serviceName: "tokens", price: try UnitPrice(yuanText: "0.004"), freeCallsPerMonth: 7, effectiveFrom: at,
                    operatorName: "ops")
            }
            #expect(try await db.pricing.versions(of: "tokens").map(\.id).count == 2)

            let from = now.addingTimeInterval(120)
            let to = now.addingTimeInterval(3_600)
            let override = try await db.pricing.addOverride(
                userId: "u1", serviceName: "tokens", price: price, from: from, to: to, operatorName: "ops")
            let replay = try await db.pricing.addOverride(
                userId: "u1", serviceName: "tokens", price: price, from: from, to: to, operatorName: "ops")
            #expect(replay.replayed && replay.value == override.value)
            for (start, end) in [(from.addingTimeInterval(60), nil), (now.addingTimeInterval(61), from.addingTimeInterval(1))]
                as [(Date, Date?)]
            {
                do {
                    _ = try await db.pricing.addOverride(
                        userId: "u1", serviceName: "tokens", price: price, from: start, to: end, operatorName: "ops")
                    Issue.record("an overlapping override was accepted")
                } catch let error as BillingError {
                    #expect(error.code == "PRICE_OVERLAP")
                }
            }
            // Adjacent windows and other services do not overlap.
            _ = try await db.pricing.addOverride(
                userId: "u1", serviceName: "tokens", price: price, from: to, to: nil, operatorName: "ops")
            _ = try await db.pricing.addOverride(
                userId: "u1", serviceName: "passport", price: price, from: from, to: nil, operatorName: "ops")
            #expect(try await db.pricing.overrides(of: "u1").count == 3)
            let account = try await db.accounts.account(of: "u1", period: db.period)
            #expect(account.overrides.count == 3 && account.version >= 3)
        }
    }

    @Test("a new allowance rewrites rows already created for the periods it governs, and the reset uses it")
    func allowanceChange() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("u1", fen: 100)
            _ = try await db.deduct("u1", "tokens", count: 3)
            let next = db.period.next
            _ = try await db.reset.createQuotaRows(for: next, catalog: Self.catalog)
            let nextStart = BillingCalendar.platformDefault.bounds(of: next).lowerBound
            _ = try await db.pricing.addVersion(
                serviceName: "tokens", price: try UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 40,
                effectiveFrom: nextStart, operatorName: "ops")
            let totals = try await db.pool.withConnection { connection in
                try connection.query(
                    "SELECT period, total FROM free_quota WHERE user_id = 'u1' AND service_name = 'tokens' ORDER BY period"
                ).all.map { (try $0.string(0), try $0.int64(1)) }
            }
            // This period keeps its allowance (0); the next one gets 40.
            #expect(totals.map(\.1) == [0, 40], "\(totals)")
            let later = next.next
            _ = try await db.reset.createQuotaRows(for: later, catalog: Self.catalog)
            let laterTotal = try await db.pool.withConnection { connection in
                try connection.query(
                    "SELECT total FROM free_quota WHERE user_id = 'u1' AND service_name = 'tokens' AND period = $1",
                    [later.text])[0].int64(0)
            }
            #expect(laterTotal == 40)
        }
    }

    @Test("reconcile reports a carry that does not match the records, per user and service")
    func reconcileCarry() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("u1", fen: 100)
            _ = try await db.deduct("u1", "tokens", count: 7)
            #expect(try await db.accounts.account(of: "u1", period: db.period).carry(of: "tokens") == 100_000)
            #expect(try await db.audit.run().isClean)
            try await db.pool.withConnection { connection in
                _ = try connection.query("UPDATE user_balance SET carries = 'tokens:100001' WHERE user_id = 'u1'")
            }
            let report = try await db.audit.run()
            #expect(report.carryDiscrepancies.map(\.userId) == ["u1"])
            #expect(report.carryDiscrepancies.first?.description.contains("2100000") == true)
            // The column refuses a carry of a whole fen or more, or any other shape.
            for bad in ["tokens:1000000", "tokens:-1", "tokens", "Tokens:1", "a:1,"] {
                await #expect(throws: BillingError.self) {
                    try await db.pool.withConnection { connection in
                        _ = try connection.query("UPDATE user_balance SET carries = $1 WHERE user_id = 'u1'", [bad])
                    }
                }
            }
            try await db.pool.withConnection { connection in
                _ = try connection.query("UPDATE user_balance SET carries = 'tokens:100000' WHERE user_id = 'u1'")
            }
        }
    }

    @Test("in real time a batch's instant is the database's now() in its transaction, not the server's clock")
    func databaseTime() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            let lanes = DeductionLanes(
                config: db.config, catalog: Self.catalog, calendar: .platformDefault, clock: SystemClock(),
                settings: .init(laneCount: 1)
            ).started()
            try await db.fund("t1", fen: 100)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        _ = try await lanes.deduct(
                            DeductionRequest(userId: "t1", serviceName: "tokens", count: 3, requestId: "r\(index)"))
                    }
                }
                try await group.waitForAll()
            }
            await lanes.shutdown()
            // Every batch sets updated_at = now() on the balance row or the quota row it changes:
            // the last batch's records carry the same instant only if it is the transaction's now().
            let row = try await db.pool.withConnection { connection in
                try connection.query(
                    """
                    SELECT (SELECT count(*) FROM billing_record WHERE user_id = 't1'),
                        (SELECT max(created_at) FROM billing_record WHERE user_id = 't1')
                            = greatest((SELECT updated_at FROM user_balance WHERE user_id = 't1'),
                                (SELECT max(updated_at) FROM free_quota WHERE user_id = 't1'))
                    """)[0]
            }
            #expect(try row.int64(0) >= 40 && row.bool(1))
        }
    }
}
