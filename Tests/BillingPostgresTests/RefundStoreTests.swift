import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// Refunds and adjustments on real PostgreSQL through the lanes (ledger-features.md §2).
@Suite("Refunds and adjustments in the store")
struct RefundStoreTests {
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "tokens", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 5),
        CatalogEntry(name: "job", priceFen: Fen(2), freeCallsPerMonth: 0),
    ])

    func refund(_ db: TestLedger, _ id: String, _ user: String, _ target: RefundTarget, _ count: Int64)
        async throws(BillingError) -> RefundReceipt
    {
        let outcome = try await db.lanes.perform(
            .refund(try RefundRequest(refundId: id, userId: user, target: target, count: count, reason: "test")))
        guard case .refunded(let receipt) = outcome else { throw .internalFailure("\(outcome)") }
        return receipt
    }

    @Test("a refund gives back paid units at the price charged through the carry, then free ones; reconcile stays exact")
    func refundsAreExact() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("r1", fen: 100)
            let charged = try await db.deduct("r1", "tokens", count: 12, requestId: "d1")
            #expect(charged.costFen == Fen(2) && charged.freeCount == 5)
            let first = try await refund(db, "f1", "r1", .deduction(requestId: "d1"), 3)
            #expect(first.paidRefunded == 3 && first.fenReturned == Fen(1) && first.balanceAfterFen == Fen(99))
            #expect(try await refund(db, "f1", "r1", .deduction(requestId: "d1"), 3).replayed)
            await #expect(throws: BillingError.idempotencyConflict(requestId: "f1")) {
                try await refund(db, "f1", "r1", .deduction(requestId: "d1"), 4)
            }
            await #expect(throws: BillingError.self) { try await refund(db, "f2", "r1", .deduction(requestId: "d1"), 10) }
            let rest = try await refund(db, "f3", "r1", .deduction(requestId: "d1"), 9)
            #expect(rest.paidRefunded == 4 && rest.freeRefunded == 5 && rest.freeReturned == 5)
            let state = try await db.accounts.account(of: "r1", period: db.period)
            #expect(state.balanceFen == Fen(100) && state.carry(of: "tokens") == 0 && state.quotas["tokens"]?.used == 0)
            await #expect(throws: BillingError.deductionNotFound("nope")) {
                try await refund(db, "f4", "r1", .deduction(requestId: "nope"), 1)
            }
            // Another user's request id is not theirs to refund.
            await #expect(throws: BillingError.deductionNotFound("d1")) {
                try await refund(db, "f5", "r2", .deduction(requestId: "d1"), 1)
            }
            // Statistics are net of refunds and show them.
            let usage = try await db.queries.usage(of: "r1", serviceName: "tokens", in: nil)
            #expect(usage.first?.paidCount == 0 && usage.first?.freeCount == 0 && usage.first?.totalCostFen == .zero)
            #expect(usage.first?.refundedCount == 12 && usage.first?.refundedFen == Fen(2))
        }
    }

    @Test("concurrent refunds of one deduction, same and different ids, racing its retry: never more than the charge")
    func concurrentRefunds() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("c1", fen: 1_000)
            _ = try await db.deduct("c1", "job", count: 20, requestId: "big")
            let results = await withTaskGroup(of: Int64.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        // Half reuse one of 5 ids (replays), half are new; a retry of the deduction runs too.
                        let id = index % 2 == 0 ? "same-\(index % 5)" : "new-\(index)"
                        if index % 10 == 0 { _ = try? await db.deduct("c1", "job", count: 20, requestId: "big") }
                        guard let receipt = try? await refund(db, id, "c1", .deduction(requestId: "big"), 3),
                            !receipt.replayed
                        else { return 0 }
                        return receipt.paidRefunded
                    }
                }
                return await group.reduce(0, +)
            }
            #expect(results == 18, "6 refunds of 3 fit in 20 charged units")
            let refunded = try await db.pool.withConnection { connection in
                try connection.query("SELECT sum(paid_refunded)::bigint FROM refund WHERE target_id = 'big'")[0].int64(0)
            }
            #expect(refunded == 18)
            #expect(try await db.balance("c1") == Fen(1_000 - 40 + 36))
        }
    }

    @Test("a settled hold is refunded like a deduction; free units of a past period count but do not return")
    func holdsAndPastPeriods() async throws {
        try await TestLedger.with(now: testDate("2026-11-30 23:50:00"), catalog: Self.catalog) { db in
            try await db.fund("p1", fen: 10)
            _ = try await db.lanes.perform(
                .authorize(try HoldRequest(userId: "p1", serviceName: "job", count: 2, holdId: "h1")))
            _ = try await db.lanes.perform(.settle(try HoldSettlement(userId: "p1", holdId: "h1", count: 2)))
            _ = try await db.deduct("p1", "tokens", count: 3, requestId: "free3")
            let fromHold = try await refund(db, "f1", "p1", .hold(holdId: "h1"), 2)
            #expect(fromHold.fenReturned == Fen(4) && fromHold.balanceAfterFen == Fen(10))
            db.clock.set(testDate("2026-12-01 08:00:00"))
            let late = try await refund(db, "f2", "p1", .deduction(requestId: "free3"), 3)
            #expect(late.freeRefunded == 3 && late.freeReturned == 0)
            await #expect(throws: BillingError.holdNotFound("h9")) { try await refund(db, "f3", "p1", .hold(holdId: "h9"), 1) }
        }
    }

    @Test("adjustments credit and debit within what is available, idempotent, and reconcile explains them")
    func adjustments() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("a1", fen: 10)
            func adjust(_ id: String, _ amount: Int64) async throws(BillingError) -> AdjustmentReceipt {
                let outcome = try await db.lanes.perform(
                    .adjust(try AdjustmentRequest(adjustmentId: id, userId: "a1", amountFen: amount, reason: "r", operatorName: "ops")))
                guard case .adjusted(let receipt) = outcome else { throw .internalFailure("\(outcome)") }
                return receipt
            }
            #expect(try await adjust("x1", 25).balanceAfterFen == Fen(35))
            #expect(try await adjust("x1", 25).replayed)
            await #expect(throws: BillingError.insufficientBalance(requiredFen: 36, availableFen: 35)) {
                try await adjust("x2", -36)
            }
            #expect(try await adjust("x3", -35).balanceAfterFen == .zero)
            let rows = try await db.pool.withConnection { connection in
                try connection.query("SELECT count(*) FROM adjustment WHERE user_id = 'a1'")[0].int64(0)
            }
            #expect(rows == 2)
        }
    }
}
