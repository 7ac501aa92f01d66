import BillingCore
import BillingPostgres
import Foundation
import Testing

@Suite("Deductions through the lanes, against the real PostgreSQL", .timeLimit(.minutes(2)))
struct DeductionLaneTests {
    @Test("free, mixed and paid deductions store balances, quotas and records")
    func modes() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 100)
            let free = try await db.deduct("u1", "payment", count: 998)
            #expect(free.mode == .free && free.recordIds.count == 1)
            let mixed = try await db.deduct("u1", "payment", count: 5)
            #expect(mixed.freeCount == 2 && mixed.paidCount == 3 && mixed.costFen == Fen(30))
            #expect(mixed.balanceAfterFen == Fen(70) && mixed.recordIds.count == 2)
            let paid = try await db.deduct("u1", "payment", count: 1)
            #expect(paid.mode == .balance && paid.balanceAfterFen == Fen(60))

            let account = try await db.accounts.account(of: "u1", period: db.period)
            #expect(account.balanceFen == Fen(60))
            #expect(account.quotas["payment"] == QuotaUsage(total: 1_000, used: 1_000))
            let page = try await db.queries.records(of: "u1", filter: RecordFilter(), page: .offset(page: 1, size: 10))
            #expect(page.total == 4)
            #expect(page.records.map(\.id) == (paid.recordIds + mixed.recordIds.reversed() + free.recordIds))
        }
    }

    @Test("insufficient balance changes nothing: no quota use, no record")
    func insufficient() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 5)
            try await db.exhaustFreeQuota("u1", "payment")
            await #expect(throws: BillingError.insufficientBalance(requiredFen: 10, availableFen: 5)) {
                try await db.deduct("u1", "payment")
            }
            #expect(try await db.balance("u1") == Fen(5))
            let page = try await db.queries.records(of: "u1", filter: RecordFilter(), page: .offset(page: 1, size: 10))
            #expect(page.total == 1)
        }
    }

    @Test("a retried request id gets the original answer from the database, a changed one conflicts")
    func idempotency() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 100)
            try await db.exhaustFreeQuota("u1", "asset")
            let first = try await db.deduct("u1", "asset", count: 2, requestId: "req-1")
            let retry = try await db.deduct("u1", "asset", count: 2, requestId: "req-1")
            #expect(retry.replayed && retry.recordIds == first.recordIds && retry.balanceAfterFen == Fen(90))
            await #expect(throws: BillingError.idempotencyConflict(requestId: "req-1")) {
                try await db.deduct("u1", "asset", count: 3, requestId: "req-1")
            }
            #expect(try await db.balance("u1") == Fen(90))
        }
    }

    @Test("50 concurrent deductions of 10 fen against 100 fen: exactly 10 succeed")
    func fiftyAgainstHundred() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 100)
            try await db.exhaustFreeQuota("u1", "payment")
            let successes = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 { group.addTask { (try? await db.deduct("u1", "payment")) != nil } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(successes == 10)
            #expect(try await db.balance("u1") == .zero)
        }
    }

    @Test("2,000 concurrent deductions over 50 users leave every balance and quota exact")
    func twoThousand() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 4, maxBatchCount: 64)) { db in
            let users = (0..<50).map { "user-\($0)" }
            for user in users {
                try await db.fund(user, fen: 990)
                try await db.exhaustFreeQuota(user, "payment")
            }
            // 40 calls per user of 3 paid calls (30 fen) each against 990 fen: exactly 33 pass.
            let outcomes = await withTaskGroup(of: Result<DeductionReceipt, BillingError>.self) { group in
                for index in 0..<2_000 {
                    let user = users[index % 50]
                    group.addTask {
                        do throws(BillingError) {
                            return .success(try await db.deduct(user, "payment", count: 3))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<DeductionReceipt, BillingError>] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let charged = outcomes.compactMap { try? $0.get() }.reduce(Int64(0)) { $0 + $1.costFen.value }
            #expect(charged == 50 * 990)
            #expect(outcomes.filter { (try? $0.get()) != nil }.count == 50 * 33)
            for user in users {
                let account = try await db.accounts.account(of: user, period: db.period)
                #expect(account.balanceFen == .zero)
                #expect(account.quotas["payment"]?.used == 1_000)
            }
            var failureCodes: [String] = []
            for case .failure(let error) in outcomes { failureCodes.append(error.code) }
            #expect(failureCodes.count == 2_000 - 50 * 33)
            #expect(Set(failureCodes) == ["INSUFFICIENT_BALANCE"])
        }
    }

    @Test("20 concurrent deductions with the same request id charge once")
    func sameRequestId() async throws {
        try await TestLedger.with { db in
            try await db.fund("u1", fen: 100)
            try await db.exhaustFreeQuota("u1", "payment")
            let receipts = await withTaskGroup(of: DeductionReceipt?.self) { group in
                for _ in 0..<20 { group.addTask { try? await db.deduct("u1", "payment", requestId: "same") } }
                return await group.compactMap { $0 }.reduce(into: []) { $0.append($1) }
            }
            #expect(receipts.count == 20)
            #expect(receipts.filter { !$0.replayed }.count == 1)
            #expect(Set(receipts.map(\.recordIds)).count == 1)
            #expect(try await db.balance("u1") == Fen(90))
        }
    }

    @Test("one hot user with 64 concurrent clients keeps each client's order")
    func hotUserOrder() async throws {
        try await TestLedger.with { db in
            try await db.fund("hot", fen: 1_000_000)
            try await db.exhaustFreeQuota("hot", "passport")
            let perClient = 10
            let balancesByClient = await withTaskGroup(of: [Int64].self) { group in
                for client in 0..<64 {
                    group.addTask {
                        var seen: [Int64] = []
                        for step in 0..<perClient {
                            if let receipt = try? await db.deduct("hot", requestId: "c\(client)-\(step)") {
                                seen.append(receipt.balanceAfterFen.value)
                            }
                        }
                        return seen
                    }
                }
                return await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            for balances in balancesByClient {
                #expect(balances.count == perClient)
                #expect(balances == balances.sorted(by: >), "each client's later deduction sees a lower balance")
            }
            #expect(try await db.balance("hot") == Fen(1_000_000 - 64 * Int64(perClient)))
        }
    }

    @Test("a full lane queue answers OVERLOADED at once and charges nothing for it")
    func overloaded() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1, maxBatchCount: 4, maxQueuedPerLane: 4)) { db in
            try await db.fund("u1", fen: 1_000)
            try await db.exhaustFreeQuota("u1", "payment")
            let codes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<60 {
                    group.addTask {
                        do throws(BillingError) {
                            _ = try await db.deduct("u1", "payment")
                            return "ok"
                        } catch {
                            return error.code
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(codes).isSubset(of: ["ok", "OVERLOADED"]))
            #expect(codes.contains("OVERLOADED"))
            let charged = Int64(codes.filter { $0 == "ok" }.count) * 10
            #expect(try await db.balance("u1") == Fen(1_000 - charged))
        }
    }

    @Test("reads never create rows")
    func readsCreateNothing() async throws {
        try await TestLedger.with { db in
            let account = try await db.accounts.account(of: "ghost", period: db.period)
            #expect(account.balanceFen == .zero && account.quotas.isEmpty)
            let rows = try await db.pool.withConnection { connection in
                try connection.query("SELECT (SELECT count(*) FROM user_balance) + (SELECT count(*) FROM free_quota)")[0]
                    .int64(0)
            }
            #expect(rows == 0)
        }
    }

    @Test("a lane whose connection is terminated mid-stream commits nothing partial and recovers")
    func terminatedConnection() async throws {
        try await TestLedger.with(lanes: .init(laneCount: 1, maxBatchCount: 16)) { db in
            try await db.fund("u1", fen: 100_000)
            try await db.exhaustFreeQuota("u1", "passport")
            let killer = Task {
                for _ in 0..<5 {
                    try await Task.sleep(for: .milliseconds(20))
                    _ = try await db.pool.withConnection { connection in
                        try connection.query(
                            """
                            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1
                            """, [db.config.applicationName + "-lane"])
                    }
                }
            }
            let outcomes = await withTaskGroup(of: DeductionReceipt?.self) { group in
                for index in 0..<300 { group.addTask { try? await db.deduct("u1", requestId: "k\(index)") } }
                return await group.reduce(into: [DeductionReceipt?]()) { $0.append($1) }
            }
            _ = try? await killer.value
            let acknowledged = Set(outcomes.compactMap { $0?.recordIds.first })
            // Every acknowledged deduction is in the database; the audit checks the rest adds up.
            let stored = try await db.pool.withConnection { connection in
                Set(try connection.query("SELECT id FROM billing_record WHERE user_id = 'u1'").all.map { try $0.int64(0) })
            }
            #expect(acknowledged.isSubset(of: stored))
            let usage = try await db.queries.usage(of: "u1", serviceName: "passport", in: nil)
            #expect(try await db.balance("u1") == Fen(100_000 - (usage.first?.paidCount ?? 0)))
            // The lane recovered.
            _ = try await db.deduct("u1", requestId: "after")
        }
    }
}
