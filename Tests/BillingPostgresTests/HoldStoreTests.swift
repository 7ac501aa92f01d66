import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// Holds on real PostgreSQL through the lanes (ledger-features.md §1).
@Suite("Holds in the store: through the lanes, swept, exact")
struct HoldStoreTests {
    /// stream at 0.3 fen with 10 free calls a month; job at 2 fen.
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "stream", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 10),
        CatalogEntry(name: "job", priceFen: Fen(2), freeCallsPerMonth: 0),
    ])

    func authorize(_ lanes: DeductionLanes, _ user: String, _ id: String, _ count: Int64, service: String = "stream",
        ttl: Int64 = 300) async throws(BillingError) -> HoldAnswer
    {
        let outcome = try await lanes.perform(
            .authorize(try HoldRequest(userId: user, serviceName: service, count: count, holdId: id, ttlSeconds: ttl)))
        guard case .held(let answer) = outcome else { throw .internalFailure("\(outcome)") }
        return answer
    }

    func settle(_ lanes: DeductionLanes, _ user: String, _ id: String, _ count: Int64) async throws(BillingError)
        -> DeductionReceipt
    {
        let outcome = try await lanes.perform(.settle(try HoldSettlement(userId: user, holdId: id, count: count)))
        guard case .settled(let receipt, _) = outcome else { throw .internalFailure("\(outcome)") }
        return receipt
    }

    @Test("authorize, settle, void and expire change the stored rows exactly; every error changes nothing")
    func lifecycle() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("h1", fen: 10)
            let answer = try await authorize(db.lanes, "h1", "a", 16)
            #expect(answer.hold.freeHeld == 10 && answer.hold.paidHeld == 6 && answer.hold.heldFen == Fen(2))
            #expect(answer.availableFen == Fen(8))
            let state = try await db.accounts.account(of: "h1", period: db.period)
            #expect(state.heldFen == Fen(2) && state.quotas["stream"]?.held == 10 && state.availableFen == Fen(8))
            // A deduction sees only what is available.
            await #expect(throws: BillingError.insufficientBalance(requiredFen: 10, availableFen: 8)) {
                try await db.deduct("h1", "job", count: 5)
            }
            // The same hold id replays; other parameters conflict.
            #expect(try await authorize(db.lanes, "h1", "a", 16).replayed)
            await #expect(throws: BillingError.idempotencyConflict(requestId: "a")) {
                try await authorize(db.lanes, "h1", "a", 17)
            }
            let receipt = try await settle(db.lanes, "h1", "a", 12)
            #expect(receipt.freeCount == 10 && receipt.paidCount == 2 && receipt.costFen == .zero)
            #expect(try await settle(db.lanes, "h1", "a", 12).replayed)
            await #expect(throws: BillingError.holdAlreadySettled("a")) { try await settle(db.lanes, "h1", "a", 11) }
            await #expect(throws: BillingError.holdAlreadySettled("a")) {
                try await db.lanes.perform(.void(HoldKey(userId: "h1", holdId: "a")))
            }
            await #expect(throws: BillingError.holdNotFound("zz")) { try await settle(db.lanes, "h1", "zz", 1) }
            // Another user's hold id is not found either.
            await #expect(throws: BillingError.holdNotFound("a")) { try await settle(db.lanes, "h2", "a", 1) }

            _ = try await authorize(db.lanes, "h1", "v", 3, service: "job")
            let voided = try await db.lanes.perform(.void(HoldKey(userId: "h1", holdId: "v")))
            guard case .released(let hold) = voided else { throw BillingError.internalFailure("\(voided)") }
            #expect(hold.status == .voided)
            await #expect(throws: BillingError.holdVoided("v")) { try await settle(db.lanes, "h1", "v", 1) }

            _ = try await authorize(db.lanes, "h1", "e", 2, service: "job", ttl: 60)
            db.clock.advance(seconds: 61)
            await #expect(throws: BillingError.holdExpired("e")) { try await settle(db.lanes, "h1", "e", 1) }
            let after = try await db.accounts.account(of: "h1", period: db.period)
            #expect(after.heldFen == .zero && after.balanceFen == Fen(10) && after.quotas["stream"]?.held == 0)
            let rows = try await db.pool.withConnection { connection in
                try connection.query("SELECT hold_id, status FROM hold WHERE user_id = 'h1' ORDER BY hold_id").all
                    .map { "\(try $0.string(0))=\(try $0.string(1))" }
            }
            #expect(rows == ["a=settled", "e=expired", "v=voided"])
            let settledRecords = try await db.pool.withConnection { connection in
                try connection.query("SELECT count(*) FROM billing_record WHERE hold_id = 'a'")[0].int64(0)
            }
            #expect(settledRecords == 2)
        }
    }

    @Test("an overrun is a deduction at the settle's instant; one that cannot be paid leaves the hold pending")
    func overrun() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            try await db.fund("o1", fen: 10)
            _ = try await authorize(db.lanes, "o1", "x", 2, service: "job")
            await #expect(throws: BillingError.insufficientBalance(requiredFen: 8, availableFen: 6)) {
                try await settle(db.lanes, "o1", "x", 6)
            }
            #expect(try await db.accounts.account(of: "o1", period: db.period).heldFen == Fen(4))
            let receipt = try await settle(db.lanes, "o1", "x", 5)
            #expect(receipt.costFen == Fen(10) && receipt.balanceAfterFen == .zero && receipt.recordIds.count == 2)
        }
    }

    @Test("a hold keeps its period: settled after midnight on the 1st it uses the old period's free units")
    func keepsItsPeriod() async throws {
        try await TestLedger.with(now: testDate("2026-11-30 23:58:00"), catalog: Self.catalog) { db in
            _ = try await authorize(db.lanes, "p1", "late", 4, ttl: 600)
            db.clock.set(testDate("2026-12-01 00:02:00"))
            let receipt = try await settle(db.lanes, "p1", "late", 4)
            #expect(receipt.freeCount == 4 && receipt.costFen == .zero)
            let rows = try await db.pool.withConnection { connection in
                try connection.query(
                    "SELECT period, used, held FROM free_quota WHERE user_id = 'p1' AND service_name = 'stream' ORDER BY period"
                ).all.map { "\(try $0.string(0)):\(try $0.int64(1)):\(try $0.int64(2))" }
            }
            #expect(rows.first == "2026-11:4:0", "\(rows)")
            #expect(!rows.contains { $0.hasPrefix("2026-12:") && !$0.hasPrefix("2026-12:0:") })
            let records = try await db.pool.withConnection { connection in
                try connection.query("SELECT period FROM billing_record WHERE hold_id = 'late'").all.map { try $0.string(0) }
            }
            #expect(records == ["2026-11"])
        }
    }

    @Test("10,000 concurrent holds over 100 users settled, voided or left to expire: exact ledger, expiry lag p99 ≤ 5 s")
    func thousandsOfHolds() async throws {
        try await TestLedger.with(catalog: Self.catalog) { db in
            let lanes = DeductionLanes(
                config: db.config, catalog: Self.catalog, calendar: .platformDefault, clock: SystemClock(),
                settings: .init(laneCount: 2)
            ).started()
            let users = (0..<100).map { "m\($0)" }
            for user in users { try await db.fund(user, fen: 500) }
            // The server's sweep, every second.
            let expiry = HoldExpiry(holds: PostgresHolds(pool: db.pool), ledger: lanes, clock: SystemClock())
            let sweeper = Task {
                while !Task.isCancelled {
                    _ = try? await expiry.sweepOnce()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            let total = FuzzRandom.cases(10_000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<100 {
                    group.addTask {
                        var random = FuzzRandom(seed: UInt64(worker + 1))
                        for index in stride(from: worker, to: total, by: 100) {
                            let user = users[index % users.count]
                            let id = "h\(index)"
                            let service = random.pick(["stream", "job"])
                            let count = Int64.random(in: 1...5, using: &random)
                            guard (try? await authorize(lanes, user, id, count, service: service, ttl: 1)) != nil else {
                                continue
                            }
                            switch Int.random(in: 0..<3, using: &random) {
                            case 0: _ = try? await settle(lanes, user, id, Int64.random(in: 0...7, using: &random))
                            case 1: _ = try? await lanes.perform(.void(HoldKey(userId: user, holdId: id)))
                            default: break
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Everything left pending expires within seconds of its expiresAt.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let pending = try await db.pool.withConnection { connection in
                    try connection.query("SELECT count(*) FROM hold WHERE status = 'pending'")[0].int64(0)
                }
                if pending == 0 { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            sweeper.cancel()
            _ = await sweeper.value
            await lanes.shutdown()
            let row = try await db.pool.withConnection { connection in
                try connection.query(
                    """
                    SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'expired'),
                        COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - expires_at))
                            FILTER (WHERE status = 'expired'), 0)::text
                    FROM hold
                    """)[0]
            }
            let broken = try await db.pool.withConnection { connection in
                try connection.query("SELECT count(*) FROM user_balance WHERE balance_fen < 0 OR held_fen <> 0")[0]
            }
            #expect(try row.int64(0) == 0 && row.int64(1) > 0)
            let lag = try row.string(2)
            #expect((Double(lag) ?? 99) <= 5, "expiry lag p99 \(lag) s")
            #expect(try broken.int64(0) == 0)
            // TestLedger.with then reconciles: balances, carries and held sums exact.
        }
    }
}
