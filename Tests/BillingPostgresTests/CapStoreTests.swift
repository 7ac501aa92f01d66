import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// Spend caps and alert events on real PostgreSQL through the lanes (ledger-features.md §3).
@Suite("Caps and alerts in the store")
struct CapStoreTests {
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "job", priceFen: Fen(3), freeCallsPerMonth: 2)
    ])

    func events(_ db: TestLedger, _ user: String) async throws -> [String] {
        try await db.pool.withConnection { connection in
            try connection.query(
                "SELECT type || COALESCE(':' || (data->>'percent'), '') FROM billing_event WHERE user_id = $1 ORDER BY id",
                [user]
            ).all.map { try $0.string(0) }
        }
    }

    @Test("200 concurrent callers on one capped user: paid spend never exceeds the cap, exactly; free calls pass; 50/80/100 % once")
    func concurrentCap() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            let settings = PostgresSettings(pool: db.pool)
            _ = try await settings.update("cap1", with: SettingsUpdate(monthlySpendCapFen: .set(99)))
            try await db.fund("cap1", fen: 10_000)
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        do throws(BillingError) {
                            return "\(try await db.deduct("cap1", "job").costFen.value)"
                        } catch {
                            return error.code
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            let charged = outcomes.compactMap(Int64.init).reduce(0, +)
            // 2 free calls, then 33 paid calls of 3 fen = 99 fen, the cap: the 34th would make 102.
            #expect(charged == 99 && outcomes.filter { $0 == "0" }.count == 2)
            #expect(outcomes.filter { $0 == "SPEND_CAP_REACHED" }.count == 200 - 2 - 33)
            let row = try await db.pool.withConnection { connection in
                try connection.query(
                    """
                    SELECT spend_fen, (SELECT sum(amount_fen)::bigint FROM billing_record WHERE user_id = 'cap1' AND type = 2)
                    FROM user_balance WHERE user_id = 'cap1'
                    """)[0]
            }
            #expect(try row.int64(0) == 99 && row.int64(1) == 99)
            // 50, 80 and 100 % fired once each, then the first refusal, once.
            #expect(
                try await events(db, "cap1") == [
                    "recharge.succeeded", "spend_cap.threshold:50", "spend_cap.threshold:80", "spend_cap.threshold:100",
                    "spend_cap.reached",
                ])
            // A hold counts against the cap at once.
            await #expect(throws: BillingError.self) {
                try await db.lanes.perform(.authorize(try HoldRequest(userId: "cap1", serviceName: "job", count: 1, holdId: "h")))
            }
        }
    }

    @Test("a balance that dips below the threshold, recovers by a credit and dips again alerts twice; hovering does not")
    func lowBalance() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            _ = try await PostgresSettings(pool: db.pool).update("low1", with: SettingsUpdate(lowBalanceThresholdFen: .set(10)))
            try await db.fund("low1", fen: 20)
            _ = try await db.deduct("low1", "job", count: 2)  // free
            _ = try await db.deduct("low1", "job", count: 4)  // 12 fen: 8 left, below 10
            _ = try await db.lanes.perform(
                .authorize(try HoldRequest(userId: "low1", serviceName: "job", count: 1, holdId: "h1")))  // 5 available
            _ = try await db.lanes.perform(.void(HoldKey(userId: "low1", holdId: "h1")))  // back to 8: not a credit
            _ = try await db.deduct("low1", "job", count: 1)  // 5: hovering, no second alert
            try await db.fund("low1", fen: 30)  // 35: re-armed
            _ = try await db.deduct("low1", "job", count: 9)  // 8: fires again
            _ = try await db.deduct("low1", "job", count: 2)  // 2
            await #expect(throws: BillingError.self) { try await db.deduct("low1", "job", count: 1) }  // refused: depleted
            await #expect(throws: BillingError.self) { try await db.deduct("low1", "job", count: 1) }  // not again
            #expect(try await events(db, "low1") == [
                "recharge.succeeded", "balance.low", "recharge.succeeded", "balance.low", "balance.depleted",
            ])
        }
    }

    @Test("holds expiring, refunds and adjustments write their events with the change")
    func otherEvents() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("ev1", fen: 50)
            _ = try await db.deduct("ev1", "job", count: 3, requestId: "d1")
            _ = try await db.lanes.perform(
                .refund(try RefundRequest(refundId: "r1", userId: "ev1", target: .deduction(requestId: "d1"), count: 1, reason: "x")))
            _ = try await db.lanes.perform(
                .adjust(try AdjustmentRequest(adjustmentId: "a1", userId: "ev1", amountFen: 7, reason: "x", operatorName: "ops")))
            _ = try await db.lanes.perform(
                .authorize(try HoldRequest(userId: "ev1", serviceName: "job", count: 1, holdId: "h1", ttlSeconds: 1)))
            db.clock.advance(seconds: 2)
            _ = try await db.lanes.perform(.expire(HoldKey(userId: "ev1", holdId: "h1")))
            #expect(try await events(db, "ev1") == ["recharge.succeeded", "refund.created", "adjustment.created", "hold.expired"])
        }
    }
}
