@testable import BillingCore
import Testing
import TestSupport

/// Prices below one fen (ledger-features.md §4), in the domain: exact accumulation with a
/// carry, and price texts. `PricedBatchTests` runs the same rules through whole batches.
@Suite("Sub-fen prices: exact to the last micro-fen")
struct SubFenPricingTests {
    @Test(
        "prices parse from yuan text exactly",
        arguments: [
            ("0.0003", 30_000), ("0.003", 300_000), ("0.01", 1_000_000), ("0.10", 10_000_000), ("1", 100_000_000),
            ("0.00000001", 1), ("0", 0), ("10000", 1_000_000_000_000), ("0.300000000", 30_000_000), ("007.5", 750_000_000),
        ] as [(String, Int64)])
    func parse(text: String, microFen: Int64) throws {
        let price = try UnitPrice(yuanText: text)
        #expect(price.microFen == microFen)
        #expect(try UnitPrice(yuanText: price.yuanText) == price)
    }

    @Test("prices are written in yuan with the decimals they need, at least two")
    func written() {
        let cases: [(Int64, String)] = [
            (0, "0.00"), (1, "0.00000001"), (30_000, "0.0003"), (1_000_000, "0.01"), (10_000_000, "0.10"),
            (100_000_000, "1.00"), (750_000_000, "7.50"), (123_456_789, "1.23456789"), (1_000_000_000_000, "10000.00"),
        ]
        for (microFen, text) in cases { #expect(UnitPrice(unvalidatedMicroFen: microFen).yuanText == text) }
        #expect(UnitPrice(unvalidatedMicroFen: -30_000).yuanText == "-0.0003")
        #expect(UnitPrice(unvalidatedMicroFen: -150_000_000).yuanText == "-1.50")
    }

    @Test(
        "bad prices are refused with a code naming the field",
        arguments: [
            ("-0.01", "INVALID_ARGUMENT"), ("0.000000001", "INVALID_ARGUMENT"), ("10000.01", "AMOUNT_OUT_OF_RANGE"),
            ("99999999999999999999", "AMOUNT_OUT_OF_RANGE"), ("1e-3", "AMOUNT_MALFORMED"), ("", "AMOUNT_EMPTY"),
            (".5", "AMOUNT_MALFORMED"), ("1.", "AMOUNT_MALFORMED"), ("+1", "AMOUNT_MALFORMED"), ("0x10", "AMOUNT_MALFORMED"),
        ])
    func refuse(text: String, code: String) {
        do {
            _ = try UnitPrice(yuanText: text, field: "catalog.passport.price")
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == code, "\(text)")
            #expect(error.description.contains("catalog.passport.price"), "\(error)")
        }
        #expect(throws: BillingError.self) { try UnitPrice(microFen: -1) }
        #expect(throws: BillingError.self) { try UnitPrice(microFen: UnitPrice.maxMicroFen + 1) }
    }

    @Test("1,000,000 calls at 0.3 fen cost exactly 300,000 fen, one call at a time")
    func millionCalls() throws {
        let price = try UnitPrice(yuanText: "0.003")
        var carry: Int64 = 0
        var fen: Int64 = 0
        for _ in 0..<1_000_000 {
            let charge = try ExactCharge(units: 1, price: price, carryMicroFen: carry)
            fen += charge.fen.value
            carry = charge.carryAfterMicroFen
        }
        #expect(fen == 300_000 && carry == 0)
    }

    @Test("for random charges at random prices Σ fen × 10⁶ + carry = Σ units × price, exactly")
    func identity() throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(2_000) {
            var carry: Int64 = 0
            var fen = UInt128(0)
            var exact = UInt128(0)
            for _ in 0..<Int.random(in: 1...50, using: &random) {
                let price = try UnitPrice(microFen: Self.price(&random))
                let units = Int64.random(in: 0...Limits.maxCallCount, using: &random) >> Int64.random(in: 0...31, using: &random)
                let charge = try ExactCharge(units: units, price: price, carryMicroFen: carry)
                // Never more than this call's exact cost rounded down after the carry, and
                // what must be available covers it.
                let callExact = UInt128(UInt64(units)) * UInt128(UInt64(price.microFen))
                #expect(UInt128(UInt64(charge.fen.value)) * 1_000_000 <= UInt128(UInt64(carry)) + callExact)
                #expect(charge.requiredFen.value - charge.fen.value <= 1 && charge.requiredFen >= charge.fen)
                #expect((0..<1_000_000).contains(charge.carryAfterMicroFen))
                fen += UInt128(UInt64(charge.fen.value))
                exact += callExact
                carry = charge.carryAfterMicroFen
            }
            #expect(fen * 1_000_000 + UInt128(UInt64(carry)) == exact, "seed \(random.seed)")
        }
    }

    @Test("splitting the same units over more calls never costs more")
    func splitting() throws {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(2_000) {
            let price = try UnitPrice(microFen: Self.price(&random))
            let units = Int64.random(in: 1...100_000, using: &random)
            let once = try ExactCharge(units: units, price: price, carryMicroFen: 0)
            var left = units
            var carry: Int64 = 0
            var fen: Int64 = 0
            while left > 0 {
                let part = Int64.random(in: 1...left, using: &random)
                let charge = try ExactCharge(units: part, price: price, carryMicroFen: carry)
                fen += charge.fen.value
                carry = charge.carryAfterMicroFen
                left -= part
            }
            #expect(fen <= once.fen.value && fen == once.fen.value && carry == once.carryAfterMicroFen, "seed \(random.seed)")
        }
    }

    @Test("a cost beyond Int64 fen is AMOUNT_OUT_OF_RANGE, not a trap")
    func overflow() throws {
        let price = try UnitPrice(microFen: UnitPrice.maxMicroFen)
        #expect(throws: BillingError.amountOutOfRange(field: "count")) {
            try ExactCharge(units: .max, price: price, carryMicroFen: 999_999)
        }
        #expect(throws: BillingError.self) { try ExactCharge(units: 1, price: price, carryMicroFen: 1_000_000) }
        #expect(throws: BillingError.self) { try ExactCharge(units: -1, price: price, carryMicroFen: 0) }
    }

    /// Sub-fen prices most of the time, whole-fen and extreme ones sometimes.
    static func price(_ random: inout FuzzRandom) -> Int64 {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: Int64.random(in: 0...999_999, using: &random)
        case 1: Int64.random(in: 1...100, using: &random) * 1_000_000
        case 2: random.pick([0, 1, 999_999, 1_000_001, UnitPrice.maxMicroFen])
        default: Int64.random(in: 0...UnitPrice.maxMicroFen, using: &random)
        }
    }
}
