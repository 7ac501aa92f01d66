import BillingCore
import Foundation
import Testing

@Suite("A batch applies requests in arrival order, each with its own outcome")
struct DeductionBatchTests {
    let batch = DeductionBatch(
        catalog: .platformDefault, period: period("2026-11"), appliedAt: Date(timeIntervalSince1970: 1_000))

    func run(_ requests: [DeductionRequest], _ snapshot: LedgerSnapshot) -> BatchResult {
        var nextId: Int64 = 0
        return batch.apply(requests, to: snapshot) {
            nextId += 1
            return nextId
        }
    }

    func exhausted(_ users: [String], service: String = "payment") -> [QuotaKey: QuotaUsage] {
        Dictionary(
            uniqueKeysWithValues: users.map {
                (QuotaKey(userId: $0, serviceName: service, period: period("2026-11")), QuotaUsage(total: 1_000, used: 1_000))
            })
    }

    @Test("one rejected request does not affect the others")
    func isolation() throws {
        let snapshot = LedgerSnapshot(balances: ["a": Fen(25)], quotas: exhausted(["a"]))
        let result = run(
            [request("a", "payment", count: 2), request("a", "payment", count: 1), request("a", "payment", count: 1)],
            snapshot)
        #expect(try result.outcomes[0].get().balanceAfterFen == Fen(5))
        #expect(throws: BillingError.insufficientBalance(requiredFen: 10, availableFen: 5)) {
            try result.outcomes[1].get()
        }
        #expect(throws: BillingError.self) { try result.outcomes[2].get() }
        #expect(result.snapshot.balance(of: "a") == Fen(5))
        #expect(result.records.count == 1)
    }

    @Test("a later smaller request can still pass after a rejected larger one")
    func laterSmallerPasses() throws {
        let snapshot = LedgerSnapshot(balances: ["a": Fen(10)], quotas: exhausted(["a"], service: "asset"))
        let result = run([request("a", "asset", count: 3), request("a", "asset", count: 2)], snapshot)
        #expect(throws: BillingError.self) { try result.outcomes[0].get() }
        #expect(try result.outcomes[1].get().balanceAfterFen == .zero)
    }

    @Test("users in one batch do not see each other's balances")
    func usersAreSeparate() throws {
        let snapshot = LedgerSnapshot(balances: ["a": Fen(10), "b": Fen(0)], quotas: exhausted(["a", "b"]))
        let result = run([request("a", "payment"), request("b", "payment")], snapshot)
        #expect(try result.outcomes[0].get().balanceAfterFen == .zero)
        #expect(throws: BillingError.self) { try result.outcomes[1].get() }
        #expect(result.snapshot.balance(of: "a") == .zero && result.snapshot.balance(of: "b") == .zero)
        // b's refusal moves no money; it only fires balance.depleted (and remembers it did).
        #expect(result.records.allSatisfy { $0.userId == "a" })
        #expect(result.events.map(\.type) == [.balanceDepleted, .balanceDepleted] && result.events.map(\.userId) == ["a", "b"])
    }

    @Test("record ids are taken in order, one per record")
    func recordIds() throws {
        let quotas = [
            QuotaKey(userId: "a", serviceName: "payment", period: period("2026-11")): QuotaUsage(total: 1_000, used: 999)
        ]
        let result = run([request("a", "payment", count: 3), request("a", "passport")], LedgerSnapshot(balances: ["a": Fen(100)], quotas: quotas))
        #expect(try result.outcomes[0].get().recordIds == [1, 2])
        #expect(try result.outcomes[1].get().recordIds == [3])
        #expect(result.records.map(\.id) == [1, 2, 3])
        #expect(result.records.allSatisfy { $0.createdAt == Date(timeIntervalSince1970: 1_000) })
    }
}

@Suite("Idempotency: a request id is applied at most once per user")
struct IdempotencyTests {
    let batch = DeductionBatch(catalog: .platformDefault, period: period("2026-11"), appliedAt: Date())

    func run(_ requests: [DeductionRequest], _ snapshot: LedgerSnapshot) -> BatchResult {
        var nextId: Int64 = 0
        return batch.apply(requests, to: snapshot) {
            nextId += 1
            return nextId
        }
    }

    @Test("a retry with the same parameters gets the original answer, marked as a replay, and changes nothing")
    func replay() throws {
        let first = run([request("a", "payment", count: 2, requestId: "r1")], LedgerSnapshot(balances: ["a": Fen(50)]))
        let original = try first.outcomes[0].get()
        let retry = run([request("a", "payment", count: 2, requestId: "r1")], first.snapshot)
        let replayed = try retry.outcomes[0].get()
        #expect(replayed.replayed && !original.replayed)
        #expect(replayed.recordIds == original.recordIds)
        #expect(replayed.balanceAfterFen == original.balanceAfterFen)
        #expect(retry.records.isEmpty && retry.changedBalances.isEmpty && retry.changedQuotas.isEmpty)
        #expect(retry.snapshot == first.snapshot)
    }

    @Test("the same request id with different parameters is IDEMPOTENCY_CONFLICT")
    func conflict() throws {
        let first = run([request("a", "payment", count: 2, requestId: "r1")], LedgerSnapshot())
        for changed in [
            request("a", "payment", count: 3, requestId: "r1"), request("a", "asset", count: 2, requestId: "r1"),
            request("a", "payment", count: 2, app: "app1", requestId: "r1"),
        ] {
            let retry = run([changed], first.snapshot)
            #expect(throws: BillingError.idempotencyConflict(requestId: "r1")) { try retry.outcomes[0].get() }
            #expect(retry.snapshot == first.snapshot)
        }
    }

    @Test("two users may use the same request id independently")
    func perUser() throws {
        let result = run(
            [request("a", requestId: "r1"), request("b", requestId: "r1")], LedgerSnapshot())
        #expect(try !result.outcomes[0].get().replayed)
        #expect(try !result.outcomes[1].get().replayed)
        #expect(result.records.count == 2)
    }

    @Test("a duplicate inside one batch is a replay of the first")
    func duplicateInBatch() throws {
        let result = run([request("a", requestId: "r1"), request("a", requestId: "r1")], LedgerSnapshot())
        #expect(try result.outcomes[1].get().replayed)
        #expect(result.records.count == 1)
        #expect(result.newIdempotencyEntries.count == 1)
    }

    @Test("a rejected request leaves its request id free for a later retry")
    func rejectedIsNotRemembered() throws {
        let quotas = [QuotaKey(userId: "a", serviceName: "payment", period: period("2026-11")): QuotaUsage(total: 1_000, used: 1_000)]
        let rejected = run([request("a", "payment", requestId: "r1")], LedgerSnapshot(quotas: quotas))
        #expect(throws: BillingError.self) { try rejected.outcomes[0].get() }
        #expect(rejected.newIdempotencyEntries.isEmpty)
        var recharged = rejected.snapshot
        recharged.balances["a"] = Fen(10)
        let retry = run([request("a", "payment", requestId: "r1")], recharged)
        #expect(try retry.outcomes[0].get().costFen == Fen(10))
    }
}
