import BillingCore
import BillingPostgres
import Testing

/// The benchmark baseline must compute the same charges as the lanes, or its numbers mean nothing.
@Suite("The per-call baseline ledger", .timeLimit(.minutes(1)))
struct PerCallLedgerTests {
    @Test("free, mixed and paid deductions and concurrent spending match the lanes' rules")
    func sameRules() async throws {
        try await TestLedger.with { db in
            let naive = PerCallDeductionLedger(
                pool: db.pool, catalog: .platformDefault, calendar: .platformDefault, clock: db.clock)
            try await db.fund("u1", fen: 100)
            let free = try await naive.deduct(DeductionRequest(userId: "u1", serviceName: "payment", count: 998))
            #expect(free.mode == .free && free.freeRemainingAfter == 2)
            let mixed = try await naive.deduct(DeductionRequest(userId: "u1", serviceName: "payment", count: 3))
            #expect(mixed.freeCount == 2 && mixed.paidCount == 1 && mixed.balanceAfterFen == Fen(90))
            let successes = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        (try? await naive.deduct(DeductionRequest(userId: "u1", serviceName: "payment", count: 1))) != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == 9)
            #expect(try await db.balance("u1") == .zero)
            await #expect(throws: BillingError.insufficientBalance(requiredFen: 10, availableFen: 0)) {
                try await naive.deduct(DeductionRequest(userId: "u1", serviceName: "payment", count: 1))
            }
        }
    }
}
