import BillingCore
import Foundation
import Testing

/// Runs one request against a snapshot, the way a lane would with a batch of one.
func applyOne(
    _ request: DeductionRequest, balance: Int64, used: Int64 = 0, total: Int64? = nil,
    period: QuotaPeriod = period("2026-11")
) -> (Result<DeductionReceipt, BillingError>, BatchResult) {
    var snapshot = LedgerSnapshot(balances: [request.userId: Fen(balance)])
    if let total {
        let key = QuotaKey(userId: request.userId, serviceName: request.serviceName, period: period)
        snapshot.quotas[key] = QuotaUsage(total: total, used: used)
    }
    var nextId: Int64 = 100
    let batch = DeductionBatch(catalog: .platformDefault, period: period, appliedAt: Date(timeIntervalSince1970: 0))
    let result = batch.apply([request], to: snapshot) {
        nextId += 1
        return nextId
    }
    return (result.outcomes[0], result)
}

@Suite("Deduction: free quota first, then the balance")
struct DeductionTests {
    @Test("calls within the free quota cost nothing and write one free record")
    func allFree() throws {
        let (outcome, result) = applyOne(request(count: 3), balance: 0)
        let receipt = try outcome.get()
        #expect(receipt.freeCount == 3 && receipt.paidCount == 0 && receipt.costFen == .zero)
        #expect(receipt.mode == .free)
        #expect(receipt.freeRemainingAfter == 9_997)
        #expect(result.records.map(\.type) == [.free])
        #expect(result.records[0].amountFen == .zero && result.records[0].count == 3)
    }

    @Test("a mixed deduction spends the free quota first, then the balance, and writes both records")
    func mixed() throws {
        let (outcome, result) = applyOne(
            request("u1", "payment", count: 5), balance: 100, used: 998, total: 1_000)
        let receipt = try outcome.get()
        #expect(receipt.freeCount == 2 && receipt.paidCount == 3)
        #expect(receipt.costFen == Fen(30))
        #expect(receipt.balanceAfterFen == Fen(70))
        #expect(receipt.freeRemainingAfter == 0)
        #expect(receipt.mode == .mixed)
        #expect(result.records.map(\.type) == [.free, .balance])
        #expect(result.records.map(\.amountFen) == [.zero, Fen(30)])
        #expect(receipt.recordIds == result.records.map(\.id))
    }

    @Test("with the free quota used up, every call is paid from the balance")
    func allPaid() throws {
        let (outcome, result) = applyOne(request("u1", "asset", count: 4), balance: 20, used: 1_000, total: 1_000)
        let receipt = try outcome.get()
        #expect(receipt.paidCount == 4 && receipt.costFen == Fen(20) && receipt.balanceAfterFen == .zero)
        #expect(result.records.map(\.type) == [.balance])
    }

    @Test("insufficient balance rejects the whole deduction and changes nothing")
    func insufficient() {
        let (outcome, result) = applyOne(request("u1", "payment", count: 5), balance: 29, used: 998, total: 1_000)
        #expect(throws: BillingError.insufficientBalance(requiredFen: 30, availableFen: 29)) { try outcome.get() }
        #expect(result.records.isEmpty && result.changedQuotas.isEmpty && result.changedCarries.isEmpty)
        // No money moves; the refusal is an alert (balance.depleted, once until a credit).
        #expect(result.events.map(\.type) == [.balanceDepleted] && result.snapshot.alerts["u1"]?.depletedArmed == false)
        let key = QuotaKey(userId: "u1", serviceName: "payment", period: period("2026-11"))
        #expect(result.snapshot.quotas[key] == QuotaUsage(total: 1_000, used: 998))
        #expect(result.snapshot.balance(of: "u1") == Fen(29))
    }

    @Test("a missing quota row counts as the catalog allowance, unused")
    func lazyQuota() throws {
        let (outcome, result) = applyOne(request("u9", "payment", count: 1), balance: 0)
        #expect(try outcome.get().freeRemainingAfter == 999)
        let key = QuotaKey(userId: "u9", serviceName: "payment", period: period("2026-11"))
        #expect(result.snapshot.quotas[key] == QuotaUsage(total: 1_000, used: 1))
        #expect(result.changedQuotas == [key])
    }

    @Test("a paid call on a used-up free quota leaves the stored quota row unwritten")
    func paidCallKeepsQuotaRow() throws {
        let (outcome, result) = applyOne(request("u1", "payment", count: 2), balance: 100, used: 1_000, total: 1_000)
        #expect(try outcome.get().paidCount == 2)
        #expect(result.changedQuotas.isEmpty && result.changedBalances == ["u1"])
        let key = QuotaKey(userId: "u1", serviceName: "payment", period: period("2026-11"))
        #expect(result.snapshot.quotas[key] == QuotaUsage(total: 1_000, used: 1_000))
        // Crossing from free to paid changes the row: written.
        let (_, crossing) = applyOne(request("u1", "payment", count: 3), balance: 100, used: 999, total: 1_000)
        #expect(crossing.changedQuotas == [key])
    }

    @Test("a paid call without a stored quota row still creates the row")
    func paidCallCreatesMissingRow() throws {
        // "sms" has no free calls: the whole call is paid, and the period's row is created.
        let catalog = try ServiceCatalog(entries: [CatalogEntry(name: "sms", priceFen: Fen(3), freeCallsPerMonth: 0)])
        let batch = DeductionBatch(catalog: catalog, period: period("2026-11"), appliedAt: Date(timeIntervalSince1970: 0))
        var nextId: Int64 = 0
        let result = batch.apply([request("u9", "sms", count: 1)], to: LedgerSnapshot(balances: ["u9": Fen(100)])) {
            nextId += 1
            return nextId
        }
        #expect(try result.outcomes[0].get().paidCount == 1)
        #expect(result.changedQuotas == [QuotaKey(userId: "u9", serviceName: "sms", period: period("2026-11"))])
    }

    @Test("a service missing from the catalog is rejected in the batch too")
    func unknownServiceInBatch() {
        let (outcome, _) = applyOne(request("u1", "weather"), balance: 100)
        #expect(throws: BillingError.unknownService("weather")) { try outcome.get() }
    }

    @Test(
        "requests are validated",
        arguments: [
            ("", "passport", 1, "user_id"), ("u 1", "passport", 1, "user_id"), ("u1", "", 1, "service_name"),
            ("u1", "passport", 0, "count"), ("u1", "passport", -3, "count"),
            ("u1", "passport", Int64(Int32.max) + 1, "count"),
        ] as [(String, String, Int64, String)])
    func validation(user: String, service: String, count: Int64, field: String) {
        do {
            _ = try DeductionRequest(userId: user, serviceName: service, count: count)
            Issue.record("expected a validation error")
        } catch {
            guard case .invalidArgument(let badField, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(badField == field)
        }
    }

    @Test("an over-long request id is rejected")
    func longRequestId() {
        #expect(throws: BillingError.self) {
            try DeductionRequest(
                userId: "u1", serviceName: "passport", count: 1, requestId: String(repeating: "x", count: 129))
        }
    }
}

@Suite("CheckQuota: the same computation, changing nothing")
struct CheckTests {
    let passport = CatalogEntry(name: "passport", priceFen: Fen(1), freeCallsPerMonth: 10_000)

    @Test(
        "check answers how a deduction would be paid",
        arguments: [
            (5, 10, 0, PaymentMode.free, "free", 0),
            (5, 2, 3, .mixed, "balance", 3),
            (5, 0, 5, .balance, "balance", 5),
            (5, 0, 4, .denied, "insufficient balance", 5),
            (5, 3, 1, .denied, "insufficient balance", 2),
        ] as [(Int64, Int64, Int64, PaymentMode, String, Int64)])
    func modes(count: Int64, freeRemaining: Int64, balance: Int64, mode: PaymentMode, reason: String, cost: Int64)
        throws
    {
        let quota = QuotaUsage(total: 10_000, used: 10_000 - freeRemaining)
        let answer = try CheckAnswer(count: count, price: AppliedPrice(price: passport.price, versionId: 0), quota: quota, balance: Fen(balance))
        #expect(answer.mode == mode)
        #expect(answer.reason == reason)
        #expect(answer.allowed == (mode != .denied))
        #expect(answer.costFen == Fen(cost))
        #expect(answer.freeRemaining == freeRemaining)
    }

    @Test("a quota whose total was lowered below used has nothing remaining, never a negative amount")
    func loweredTotal() {
        #expect(QuotaUsage(total: 10, used: 10).remaining == 0)
    }
}
