import BillingCore
import Foundation
import Testing
import TestSupport

/// Prices over time and per user, and the carry through whole batches
/// (ledger-features.md §4), without I/O.
@Suite("Priced batches: versions, overrides and the carry")
struct PricedBatchTests {
    static let month = try! QuotaPeriod(text: "2026-11")
    static let start = testDate("2026-11-01 00:00:00")
    static let change = testDate("2026-11-15 20:00:00")
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "tokens", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 10)
    ])

    /// tokens: 0.3 fen and 10 free calls from the epoch; 0.07 fen and 3 free calls from `change`.
    static let book = PriceBook(
        catalog: catalog,
        versions: [
            PriceVersion(
                id: 1, serviceName: "tokens", effectiveFrom: Date(timeIntervalSince1970: 0),
                price: try! UnitPrice(microFen: 300_000), freeCallsPerMonth: 10),
            PriceVersion(
                id: 2, serviceName: "tokens", effectiveFrom: change, price: try! UnitPrice(microFen: 70_000),
                freeCallsPerMonth: 3),
        ])

    @Test("the version in force at an instant prices it; the period keeps the allowance of its first instant")
    func versions() throws {
        let before = try Self.book.terms(of: "tokens", at: Self.change.addingTimeInterval(-0.001), periodStart: Self.start)
        let at = try Self.book.terms(of: "tokens", at: Self.change, periodStart: Self.start)
        #expect(before.price == AppliedPrice(price: try UnitPrice(microFen: 300_000), versionId: 1))
        #expect(at.price == AppliedPrice(price: try UnitPrice(microFen: 70_000), versionId: 2))
        // November began under version 1: its allowance stays 10 all month; December gets 3.
        #expect(before.freeCallsPerMonth == 10 && at.freeCallsPerMonth == 10)
        let december = testDate("2026-12-01 00:00:00")
        #expect(try Self.book.terms(of: "tokens", at: december, periodStart: december).freeCallsPerMonth == 3)
        #expect(throws: BillingError.unknownService("maps")) { try Self.book.terms(of: "maps", at: december, periodStart: december) }
    }

    @Test("an override wins inside [from, to) and stops at its end")
    func overrides() throws {
        let from = testDate("2026-11-10 08:00:00")
        let to = testDate("2026-11-20 08:00:00")
        let override = PriceOverride(
            id: 9, userId: "u", serviceName: "tokens", price: try UnitPrice(microFen: 1), from: from, to: to)
        func price(at instant: Date) throws -> AppliedPrice {
            try Self.book.terms(of: "tokens", at: instant, periodStart: Self.start, overrides: [override]).price
        }
        #expect(try price(at: from.addingTimeInterval(-1)).overrideId == nil)
        #expect(try price(at: from) == AppliedPrice(price: try UnitPrice(microFen: 1), versionId: 1, overrideId: 9))
        #expect(try price(at: Self.change).versionId == 2 && price(at: Self.change).overrideId == 9)
        #expect(try price(at: to) == AppliedPrice(price: try UnitPrice(microFen: 70_000), versionId: 2))
        #expect(override.overlaps(from: to.addingTimeInterval(-1), to: nil))
        #expect(!override.overlaps(from: to, to: nil) && !override.overlaps(from: .distantPast, to: from))
    }

    @Test("a call needs the exact cost rounded up available, and pays it rounded down")
    func backedCarry() throws {
        let entry = try ServiceCatalog(entries: [
            CatalogEntry(name: "tokens", price: try UnitPrice(microFen: 1), freeCallsPerMonth: 0)
        ])
        let batch = DeductionBatch(catalog: entry, period: Self.month, appliedAt: Self.start)
        let key = ChargeKey(userId: "u", serviceName: "tokens")
        let request = try DeductionRequest(userId: "u", serviceName: "tokens", count: 1)
        // 999,999 µfen carried: one more µfen makes a fen, which a zero balance cannot back.
        let broke = LedgerSnapshot(carries: [key: 999_999])
        let refused = batch.apply([request], to: broke) { 1 }
        #expect(throws: BillingError.insufficientBalance(requiredFen: 1, availableFen: 0)) { try refused.outcomes[0].get() }
        #expect(refused.records.isEmpty && refused.changedCarries.isEmpty)
        let funded = batch.apply([request], to: LedgerSnapshot(balances: ["u": Fen(1)], carries: [key: 999_999])) { 1 }
        #expect(try funded.outcomes[0].get().costFen == Fen(1))
        #expect(funded.snapshot.carry(key) == 0 && funded.snapshot.balance(of: "u") == .zero)
        // A sub-fen charge that makes no whole fen still needs one fen behind it.
        let small = batch.apply([request], to: LedgerSnapshot()) { 1 }
        #expect(throws: BillingError.self) { try small.outcomes[0].get() }
    }

    @Test("through random batches Σ fen × 10⁶ + carry = Σ units × price, check answers what deduct charges")
    func batches() throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(300) {
            let users = ["a", "b"]
            var snapshot = LedgerSnapshot(balances: ["a": Fen(Int64.random(in: 0...2_000, using: &random)), "b": Fen(50)])
            let overrides = [
                PriceOverride(
                    id: 5, userId: "b", serviceName: "tokens",
                    price: try UnitPrice(microFen: Int64.random(in: 0...2_000_000, using: &random)),
                    from: Self.change.addingTimeInterval(-3_600), to: Self.change.addingTimeInterval(3_600))
            ]
            snapshot.overrides = ["b": overrides]
            var instant = Self.change.addingTimeInterval(-7_200)
            var charged: [String: Int64] = [:]
            var exact: [String: Int64] = [:]
            var nextId: Int64 = 0
            for _ in 0..<Int.random(in: 1...12, using: &random) {
                instant = instant.addingTimeInterval(Double(Int.random(in: 0...1_800, using: &random)))
                let requests = try (0..<Int.random(in: 1...20, using: &random)).map { _ in
                    try DeductionRequest(
                        userId: random.pick(users), serviceName: "tokens", count: Int64.random(in: 1...40, using: &random))
                }
                let batch = DeductionBatch(prices: Self.book, period: Self.month, periodStart: Self.start, appliedAt: instant)
                // What a check answers for the first request, against the state before the batch.
                let first = requests[0]
                let terms = try Self.book.terms(
                    of: "tokens", at: instant, periodStart: Self.start, overrides: snapshot.overrides[first.userId] ?? [])
                let check = try CheckAnswer(
                    count: first.count, price: terms.price,
                    quota: snapshot.quota(
                        QuotaKey(userId: first.userId, serviceName: "tokens", period: Self.month),
                        freeCalls: terms.freeCallsPerMonth),
                    balance: snapshot.balance(of: first.userId),
                    carryMicroFen: snapshot.carry(ChargeKey(userId: first.userId, serviceName: "tokens")))
                let result = batch.apply(requests, to: snapshot) {
                    nextId += 1
                    return nextId
                }
                let receipt = try? result.outcomes[0].get()
                #expect(check.allowed == (receipt != nil), "seed \(random.seed)")
                if let receipt { #expect(receipt.costFen == check.costFen && receipt.price == check.price) }
                for record in result.records where record.type == .balance {
                    let price = try #require(record.price)
                    #expect(price == (try Self.book.terms(
                        of: "tokens", at: instant, periodStart: Self.start,
                        overrides: snapshot.overrides[record.userId] ?? []).price))
                    charged[record.userId, default: 0] += record.amountFen.value
                    exact[record.userId, default: 0] += record.count * price.price.microFen
                }
                snapshot = result.snapshot
            }
            for user in users {
                let carry = snapshot.carry(ChargeKey(userId: user, serviceName: "tokens"))
                #expect(charged[user, default: 0] * 1_000_000 + carry == exact[user, default: 0], "seed \(random.seed)")
                // Never more than the exact cost rounded down, never a negative balance.
                #expect(charged[user, default: 0] <= exact[user, default: 0] / 1_000_000)
                #expect(snapshot.balance(of: user) >= .zero)
            }
        }
    }
}
