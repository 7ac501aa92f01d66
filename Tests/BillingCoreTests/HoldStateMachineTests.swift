import BillingCore
import Foundation
import Testing
import TestSupport

/// Holds as a state machine, without I/O (ledger-features.md §1).
@Suite("Holds: authorize, settle, void, expire")
struct HoldStateMachineTests {
    static let catalog = try! ServiceCatalog(entries: [
        CatalogEntry(name: "stream", price: try! UnitPrice(yuanText: "0.003"), freeCallsPerMonth: 20),
        CatalogEntry(name: "job", priceFen: Fen(2), freeCallsPerMonth: 0),
    ])
    static let start = testDate("2026-11-10 12:00:00")
    static let period = BillingCalendar.platformDefault.period(containing: start)

    /// One account and a clock: applies operations one batch at a time.
    struct Account {
        var snapshot: LedgerSnapshot
        var now = HoldStateMachineTests.start
        var nextId: Int64 = 0
        var charged: Int64 = 0
        var credited: Int64 = 0

        mutating func run(_ operations: [LedgerOperation]) -> [Result<LedgerOutcome, BillingError>] {
            let calendar = BillingCalendar.platformDefault
            let period = calendar.period(containing: now)
            let batch = DeductionBatch(
                prices: PriceBook(catalog: HoldStateMachineTests.catalog), period: period,
                periodStart: calendar.bounds(of: period).lowerBound, appliedAt: now)
            let result = batch.apply(operations: operations, to: snapshot) {
                nextId += 1
                return nextId
            }
            snapshot = result.snapshot
            charged += result.records.reduce(0) { $0 + $1.amountFen.value }
            return result.results
        }
    }

    func hold(_ id: String, _ count: Int64, service: String = "stream", ttl: Int64 = 300) throws -> LedgerOperation {
        .authorize(try HoldRequest(userId: "u", serviceName: service, count: count, holdId: id, ttlSeconds: ttl))
    }

    func settle(_ id: String, _ count: Int64) throws -> LedgerOperation {
        .settle(try HoldSettlement(userId: "u", holdId: id, count: count))
    }

    @Test("authorize keeps free units first, then ⌈paid × price⌉ fen; available funds shrink, the balance does not")
    func authorize() throws {
        var account = Account(snapshot: LedgerSnapshot(balances: ["u": Fen(10)]))
        let answer = try #require(try account.run([hold("h1", 25)])[0].get())
        guard case .held(let held) = answer else { throw BillingError.internalFailure("\(answer)") }
        // 20 free, 5 paid at 0.3 fen: 1.5 fen rounded up.
        #expect(held.hold.freeHeld == 20 && held.hold.paidHeld == 5 && held.hold.heldFen == Fen(2))
        #expect(held.balanceFen == Fen(10) && held.availableFen == Fen(8) && held.hold.status == .pending)
        // A deduction sees only what is available: no free units left, 8 fen.
        let deduct = try account.run([.deduct(DeductionRequest(userId: "u", serviceName: "stream", count: 30))])
        #expect(throws: BillingError.insufficientBalance(requiredFen: 9, availableFen: 8)) { try deduct[0].get() }
        // Too much for what is available: nothing kept.
        let refused = account.run([try hold("h2", 9, service: "job")])
        #expect(throws: BillingError.insufficientBalance(requiredFen: 18, availableFen: 8)) { try refused[0].get() }
        #expect(account.snapshot.holds[HoldKey(userId: "u", holdId: "h2")] == nil)
    }

    @Test("settle below, at and above the estimate; an overrun that cannot be paid changes nothing")
    func settle() throws {
        var account = Account(snapshot: LedgerSnapshot(balances: ["u": Fen(10)]))
        _ = account.run([try hold("below", 25), try hold("above", 2, service: "job")])
        // 22 of 25: 20 free + 2 paid at 0.3 fen = 0.6 fen → 0 fen now, 600,000 µfen carried.
        let below = try account.run([settle("below", 22)])[0].get()
        guard case .settled(let receipt, let settled) = below else { throw BillingError.internalFailure("\(below)") }
        #expect(receipt.freeCount == 20 && receipt.paidCount == 2 && receipt.costFen == .zero)
        #expect(settled.status == .settled && account.snapshot.carry(ChargeKey(userId: "u", serviceName: "stream")) == 600_000)
        #expect(account.snapshot.held(by: "u") == Fen(4))
        // 2 held at 2 fen, 4 more than held: the overrun costs 8 fen, 6 available → 402, hold still pending.
        let overrun = account.run([try settle("above", 6)])
        #expect(throws: BillingError.insufficientBalance(requiredFen: 8, availableFen: 6)) { try overrun[0].get() }
        #expect(account.snapshot.holds[HoldKey(userId: "u", holdId: "above")]?.status == .pending)
        let fits = try account.run([settle("above", 4)])[0].get()
        guard case .settled(let paid, _) = fits else { throw BillingError.internalFailure("\(fits)") }
        #expect(paid.costFen == Fen(8) && paid.balanceAfterFen == Fen(2) && account.snapshot.held(by: "u") == .zero)
        // The same settle replays; another count is HOLD_ALREADY_SETTLED; a void after it too.
        #expect(try account.run([settle("above", 4)])[0].get() == .settled(paid.markedAsReplay(), account.snapshot.holds[HoldKey(userId: "u", holdId: "above")]!))
        #expect(throws: BillingError.holdAlreadySettled("above")) { try account.run([try settle("above", 3)])[0].get() }
        #expect(throws: BillingError.holdAlreadySettled("above")) { try account.run([.void(HoldKey(userId: "u", holdId: "above"))])[0].get() }
        #expect(throws: BillingError.holdNotFound("nope")) { try account.run([try settle("nope", 1)])[0].get() }
    }

    @Test("void and expiry give everything back; a settle after expiresAt expires the hold and is HOLD_EXPIRED")
    func releases() throws {
        var account = Account(snapshot: LedgerSnapshot(balances: ["u": Fen(10)]))
        _ = account.run([try hold("v", 30), try hold("e", 3, service: "job", ttl: 60)])
        #expect(account.snapshot.available(to: "u") == Fen(1))
        let voided = try account.run([.void(HoldKey(userId: "u", holdId: "v"))])[0].get()
        #expect(voided == .released(account.snapshot.holds[HoldKey(userId: "u", holdId: "v")]!))
        #expect(throws: BillingError.holdVoided("v")) { try account.run([try settle("v", 1)])[0].get() }
        account.now = account.now.addingTimeInterval(60)
        #expect(throws: BillingError.holdExpired("e")) { try account.run([try settle("e", 1)])[0].get() }
        #expect(account.snapshot.holds[HoldKey(userId: "u", holdId: "e")]?.status == .expired)
        let void = try account.run([.void(HoldKey(userId: "u", holdId: "e"))])[0].get()
        guard case .released(let expired) = void else { throw BillingError.internalFailure("\(void)") }
        #expect(expired.status == .expired)
        #expect(account.snapshot.held(by: "u") == .zero && account.snapshot.available(to: "u") == Fen(10))
        let quota = account.snapshot.quotas[QuotaKey(userId: "u", serviceName: "stream", period: Self.period)]
        #expect(quota?.held == 0 && quota?.used == 0)
    }

    @Test("a hold keeps its period: settled after midnight on the 1st, it charges that period's held free units")
    func keepsItsPeriod() throws {
        var account = Account(snapshot: LedgerSnapshot(balances: ["u": Fen(10)]))
        account.now = testDate("2026-11-30 23:59:00")
        _ = account.run([try hold("late", 5, ttl: 600)])
        account.now = testDate("2026-12-01 00:03:00")
        let settled = try account.run([settle("late", 5)])[0].get()
        guard case .settled(let receipt, _) = settled else { throw BillingError.internalFailure("\(settled)") }
        #expect(receipt.freeCount == 5 && receipt.costFen == .zero)
        let november = try QuotaPeriod(text: "2026-11")
        #expect(account.snapshot.quotas[QuotaKey(userId: "u", serviceName: "stream", period: november)] == QuotaUsage(total: 20, used: 5))
        // December's allowance is untouched.
        #expect(account.snapshot.quotas[QuotaKey(userId: "u", serviceName: "stream", period: november.next)] == nil)
    }

    @Test("random interleavings: nothing below zero, held ≤ balance, and once resolved the balance is start + credits − charges")
    func interleavings() throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(400) {
            let startBalance = Int64.random(in: 0...60, using: &random)
            var account = Account(snapshot: LedgerSnapshot(balances: ["u": Fen(startBalance)]))
            var ids: [String] = []
            for step in 0..<Int.random(in: 5...60, using: &random) {
                account.now = account.now.addingTimeInterval(Double(Int.random(in: 0...90, using: &random)))
                var operations: [LedgerOperation] = []
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let service = random.pick(["stream", "job"])
                    let known = ids.isEmpty ? "h0" : random.pick(ids)
                    switch Int.random(in: 0..<6, using: &random) {
                    case 0:
                        let id = "h\(step)-\(operations.count)"
                        ids.append(id)
                        operations.append(
                            try hold(id, Int64.random(in: 1...15, using: &random), service: service,
                                ttl: Int64.random(in: 1...240, using: &random)))
                    case 1: operations.append(try settle(known, Int64.random(in: 0...20, using: &random)))
                    case 2: operations.append(.void(HoldKey(userId: "u", holdId: known)))
                    case 3: operations.append(.expire(HoldKey(userId: "u", holdId: known)))
                    case 4:
                        operations.append(
                            .deduct(try DeductionRequest(userId: "u", serviceName: service, count: Int64.random(in: 1...10, using: &random))))
                    default:
                        let credit = Int64.random(in: 0...10, using: &random)
                        account.credited += credit
                        account.snapshot.balances["u"] = Fen(account.snapshot.balance(of: "u").value + credit)
                    }
                }
                _ = account.run(operations)
                let balance = account.snapshot.balance(of: "u")
                #expect(balance >= .zero && account.snapshot.available(to: "u") >= .zero, "seed \(random.seed)")
                #expect(account.snapshot.held(by: "u") <= balance, "seed \(random.seed)")
                let pending = account.snapshot.holds.values.filter { $0.status == .pending }
                #expect(pending.reduce(0) { $0 + $1.heldFen.value } == account.snapshot.held(by: "u").value, "seed \(random.seed)")
                for (key, quota) in account.snapshot.quotas {
                    let kept = pending.filter { $0.serviceName == key.serviceName && $0.period == key.period }
                    #expect(kept.reduce(0) { $0 + $1.freeHeld } == quota.held, "seed \(random.seed)")
                }
            }
            // Resolve everything: void what is still pending.
            _ = account.run(account.snapshot.holds.keys.map { LedgerOperation.void($0) })
            #expect(account.snapshot.held(by: "u") == .zero)
            #expect(account.snapshot.balance(of: "u").value == startBalance + account.credited - account.charged, "seed \(random.seed)")
            #expect(account.snapshot.quotas.values.allSatisfy { $0.held == 0 })
        }
    }
}
