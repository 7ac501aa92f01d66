import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// Stops the shared test server, so `make test` runs this suite alone, after the others.
@Suite("PostgreSQL stopped and started again", .serialized, .timeLimit(.minutes(2)))
struct PostgresRestartTests {
    @Test("while PostgreSQL is down requests fail with UNAVAILABLE; after it is back they succeed, same process")
    func restart() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 100)
            try await db.exhaustFreeQuota("u1", "payment")
            _ = try await db.deduct("u1", "payment")

            try LocalServices.run("stop-postgres")
            // Expectations record failures without throwing, so the server is always started again.
            let started = ContinuousClock.now
            await #expect(throws: BillingError.unavailable("database unavailable")) {
                try await db.deduct("u1", "payment", requestId: "during-outage")
            }
            await #expect(throws: BillingError.unavailable("database unavailable")) {
                try await db.accounts.account(of: "u1", period: db.period)
            }
            #expect(ContinuousClock.now - started < .seconds(5), "failing fast, not hanging")
            try LocalServices.run("start-postgres")

            let receipt = try await db.deduct("u1", "payment", requestId: "during-outage")
            #expect(!receipt.replayed, "the refused attempt left nothing behind")
            #expect(try await db.balance("u1") == Fen(80))
        }
    }
}
