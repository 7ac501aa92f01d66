import BillingCore
import Foundation
import Testing
import TestSupport

/// Refunds and adjustments without I/O (ledger-features.md §2).
@Suite("Refunds and adjustments: exact mirrors of the charge")
struct RefundTests {
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "tokens", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 5),
        CatalogEntry(name: "job", priceFen: Fen(2), freeCallsPerMonth: 0),
    ])
    static let start = testDate("2026-11-10 12:00:00")

    struct Ledger {
        var snapshot: LedgerSnapshot
        var records: [LedgerRecord] = []
        var now = RefundTests.start
        var nextId: Int64 = 0

        mutating func run(_ operations: [LedgerOperation]) -> [Result<LedgerOutcome, BillingError>] {
            let calendar = BillingCalendar.platformDefault
            let period = calendar.period(containing: now)
            // What the store reads for a batch: the named targets' records and refunded units.
            for case .refund(let request) in operations {
                let key = request.targetKey
                let ids = Set(
                    snapshot.idempotency[IdempotencyKey(userId: request.userId, requestId: request.target.id)]?
                        .receipt.recordIds ?? [])
                if !ids.isEmpty { snapshot.refundTargets[key] = records.filter { ids.contains($0.id) } }
            }
            let batch = DeductionBatch(
                prices: PriceBook(catalog: RefundTests.catalog), period: period,
                periodStart: calendar.bounds(of: period).lowerBound, appliedAt: now)
            let result = batch.apply(operations: operations, to: snapshot) {
                nextId += 1
                return nextId
            }
            snapshot = result.snapshot
            records += result.records
            return result.results
        }

        func sum(_ type: RecordType) -> Int64 { records.filter { $0.type == type }.reduce(0) { $0 + $1.amountFen.value } }
    }

    func deduct(_ id: String, _ service: String, _ count: Int64) throws -> LedgerOperation {
        .deduct(try DeductionRequest(userId: "u", serviceName: service, count: count, requestId: id))
    }

    func refund(_ id: String, of request: String, _ count: Int64) throws -> LedgerOperation {
        .refund(try RefundRequest(refundId: id, userId: "u", target: .deduction(requestId: request), count: count, reason: "r"))
    }

    @Test("paid units first at the price charged through the carry, then free units; never more than charged")
    func refundBuckets() throws {
        var ledger = Ledger(snapshot: LedgerSnapshot(balances: ["u": Fen(100)]))
        // 5 free + 7 paid at 0.3 fen = 2.1 fen → 2 fen, 100,000 µfen carried.
        let charged = try ledger.run([deduct("d1", "tokens", 12)])[0].get().receipt
        #expect(charged?.costFen == Fen(2) && charged?.freeCount == 5)
        // 3 paid back: A = 2,100,000 − 900,000 = 1,200,000 → F = 1: one fen back, carry 200,000.
        let first = try ledger.run([refund("r1", of: "d1", 3)])[0].get()
        guard case .refunded(let receipt) = first else { throw BillingError.internalFailure("\(first)") }
        #expect(receipt.paidRefunded == 3 && receipt.fenReturned == Fen(1) && receipt.balanceAfterFen == Fen(99))
        #expect(ledger.snapshot.carry(ChargeKey(userId: "u", serviceName: "tokens")) == 200_000)
        // The same id replays; another count with it conflicts.
        guard case .refunded(let replay) = try ledger.run([refund("r1", of: "d1", 3)])[0].get() else { return }
        #expect(replay.replayed && replay.fenReturned == Fen(1))
        #expect(throws: BillingError.idempotencyConflict(requestId: "r1")) { try ledger.run([refund("r1", of: "d1", 2)])[0].get() }
        // 4 paid + 5 free left: 10 is too many, 9 empties it (the free units go back to this period).
        #expect(throws: BillingError.self) { try ledger.run([refund("r2", of: "d1", 10)])[0].get() }
        guard case .refunded(let rest) = try ledger.run([refund("r3", of: "d1", 9)])[0].get() else { return }
        #expect(rest.paidRefunded == 4 && rest.freeRefunded == 5 && rest.freeReturned == 5 && rest.fenReturned == Fen(1))
        #expect(ledger.snapshot.balance(of: "u") == Fen(100))
        #expect(ledger.snapshot.carry(ChargeKey(userId: "u", serviceName: "tokens")) == 0)
        #expect(throws: BillingError.refundExceedsCharge("refund of 1 units exceeds what is left of deduction 'd1': 0 paid and 0 free")) {
            try ledger.run([refund("r4", of: "d1", 1)])[0].get()
        }
        #expect(throws: BillingError.deductionNotFound("nope")) { try ledger.run([refund("r5", of: "nope", 1)])[0].get() }
    }

    @Test("free units of a past period count as refunded but do not go back to its quota")
    func pastPeriod() throws {
        var ledger = Ledger(snapshot: LedgerSnapshot(balances: ["u": Fen(10)]))
        _ = ledger.run([try deduct("d1", "tokens", 3)])
        ledger.now = testDate("2026-12-02 09:00:00")
        guard case .refunded(let receipt) = try ledger.run([refund("r1", of: "d1", 3)])[0].get() else { return }
        #expect(receipt.freeRefunded == 3 && receipt.freeReturned == 0)
    }

    @Test("adjustments: credit, debit within what is available, idempotent by id")
    func adjustments() throws {
        var snapshot = LedgerSnapshot(balances: ["u": Fen(10)])
        snapshot.heldFen = ["u": Fen(4)]
        var ledger = Ledger(snapshot: snapshot)
        let credit = try AdjustmentRequest(adjustmentId: "a1", userId: "u", amountFen: 5, reason: "goodwill", operatorName: "ops")
        let debit = try AdjustmentRequest(adjustmentId: "a2", userId: "u", amountFen: -12, reason: "fix", operatorName: "ops")
        _ = try ledger.run([.adjust(credit)])[0].get()
        #expect(ledger.snapshot.balance(of: "u") == Fen(15))
        // 11 available (4 held): a 12 fen debit is refused.
        #expect(throws: BillingError.insufficientBalance(requiredFen: 12, availableFen: 11)) { try ledger.run([.adjust(debit)])[0].get() }
        guard case .adjusted(let again) = try ledger.run([.adjust(credit)])[0].get() else { return }
        #expect(again.replayed && ledger.snapshot.balance(of: "u") == Fen(15))
        let other = try AdjustmentRequest(adjustmentId: "a1", userId: "u", amountFen: 6, reason: "goodwill", operatorName: "ops")
        #expect(throws: BillingError.idempotencyConflict(requestId: "a1")) { try ledger.run([.adjust(other)])[0].get() }
        #expect(throws: BillingError.self) {
            try AdjustmentRequest(adjustmentId: "a3", userId: "u", amountFen: 10_000_000_000_001, reason: "x", operatorName: "ops")
        }
        #expect(throws: BillingError.self) { try AdjustmentRequest(adjustmentId: "a3", userId: "u", amountFen: 0, reason: "x", operatorName: "ops") }
    }

    @Test("any sequence of charges, refunds and adjustments: balance = credits − charges + refunds ± adjustments, carry exact, buckets respected")
    func randomSequences() throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(300) {
            let start = Int64.random(in: 0...200, using: &random)
            var ledger = Ledger(snapshot: LedgerSnapshot(balances: ["u": Fen(start)]))
            var deductions: [String] = []
            for step in 0..<Int.random(in: 1...40, using: &random) {
                var operations: [LedgerOperation] = []
                for slot in 0..<Int.random(in: 1...3, using: &random) {
                    switch Int.random(in: 0..<4, using: &random) {
                    case 0, 1:
                        let id = "d\(step)-\(slot)"
                        deductions.append(id)
                        operations.append(try deduct(id, random.pick(["tokens", "job"]), Int64.random(in: 1...12, using: &random)))
                    case 2 where !deductions.isEmpty:
                        operations.append(
                            try refund("r\(step)-\(slot)", of: random.pick(deductions), Int64.random(in: 1...8, using: &random)))
                    default:
                        operations.append(
                            .adjust(
                                try AdjustmentRequest(
                                    adjustmentId: "a\(step)-\(slot)", userId: "u",
                                    amountFen: random.chance(0.5) ? Int64.random(in: 1...20, using: &random)
                                        : -Int64.random(in: 1...20, using: &random), reason: "x", operatorName: "ops")))
                    }
                }
                _ = ledger.run(operations)
                #expect(ledger.snapshot.balance(of: "u") >= .zero)
            }
            let expected = start - ledger.sum(.balance) + ledger.sum(.refund) + ledger.sum(.adjustment)
            #expect(ledger.snapshot.balance(of: "u").value == expected, "seed \(random.seed)")
            for service in ["tokens", "job"] {
                let mine = ledger.records.filter { $0.serviceName == service }
                let net = mine.reduce(Int64(0)) { total, record in
                    switch record.type {
                    case .balance: total + record.count * record.unitPriceMicroFen
                    case .refund: total - record.count * record.unitPriceMicroFen
                    default: total
                    }
                }
                let fen = mine.filter { $0.type == .balance }.reduce(0) { $0 + $1.amountFen.value }
                    - mine.filter { $0.type == .refund }.reduce(0) { $0 + $1.amountFen.value }
                let carry = ledger.snapshot.carry(ChargeKey(userId: "u", serviceName: service))
                #expect(fen * 1_000_000 + carry == net, "seed \(random.seed) \(service)")
            }
            // Per deduction and bucket, never more refunded than charged.
            for id in deductions {
                guard let receipt = ledger.snapshot.idempotency[IdempotencyKey(userId: "u", requestId: id)]?.receipt else { continue }
                let refunds = ledger.snapshot.refunds.values.filter { $0.request.target == .deduction(requestId: id) }
                #expect(refunds.reduce(0) { $0 + $1.receipt.paidRefunded } <= receipt.paidCount)
                #expect(refunds.reduce(0) { $0 + $1.receipt.freeRefunded } <= receipt.freeCount)
            }
        }
    }
}
