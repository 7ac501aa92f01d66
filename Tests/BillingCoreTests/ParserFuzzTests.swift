import BillingCore
import Testing
import TestSupport

/// Every parser of outside text in the domain, fed random and hostile text: each either
/// returns a value that obeys its rules or throws a BillingError; none traps.
@Suite("Domain parsers under random input")
struct ParserFuzzTests {
    @Test("yuan and fen texts parse exactly or are refused with an amount code")
    func money() {
        var random = FuzzRandom()
        let codes: Set<String> = [
            "AMOUNT_EMPTY", "AMOUNT_MALFORMED", "AMOUNT_TOO_PRECISE", "AMOUNT_NOT_POSITIVE", "AMOUNT_OUT_OF_RANGE",
            "INVALID_ARGUMENT",
        ]
        for _ in 0..<FuzzRandom.cases(20_000) {
            let text = random.chance(0.5) ? random.hostileText() : Self.numberLike(&random)
            do {
                let fen = try Fen(yuanText: text)
                // What parsed prints back to the same value.
                #expect(try Fen(yuanText: fen.yuanText) == fen, "seed \(random.seed): \(text)")
            } catch {
                #expect(codes.contains(error.code), "seed \(random.seed): \(text) → \(error.code)")
            }
            do {
                let fen = try Fen(fenText: text)
                #expect(Int64(text) == fen.value, "seed \(random.seed): \(text)")
            } catch {
                #expect(codes.contains(error.code), "seed \(random.seed): \(text) → \(error.code)")
            }
        }
    }

    static func numberLike(_ random: inout FuzzRandom) -> String {
        let digits = (0..<Int.random(in: 1...22, using: &random)).map { _ in String(Int.random(in: 0...9, using: &random)) }
        var text = digits.joined()
        if random.chance(0.5) {
            let position = Int.random(in: 0...text.count, using: &random)
            text.insert(".", at: text.index(text.startIndex, offsetBy: position))
        }
        if random.chance(0.2) { text = "-" + text }
        return text
    }

    @Test("periods, cursors, record types, methods and statuses parse or refuse")
    func smallParsers() {
        var random = FuzzRandom()
        for _ in 0..<FuzzRandom.cases(20_000) {
            let text = random.chance(0.2) ? random.pick(["2026-11", "r42", "free", "balance", "alipay", "SUCCESS"])
                : random.hostileText()
            if let period = try? QuotaPeriod(text: text) { #expect(period.text == text) }
            if let cursor = try? RecordCursor(text: text) { #expect(cursor.lastId > 0 && cursor.text == text) }
            _ = try? RecordType(name: text)
            _ = try? PaymentMethod(text: text)
            _ = try? PaymentCallback.Outcome(status: text)
        }
    }

    @Test("a deduction request with any fields is valid by the rules or refused; a plan never overflows")
    func deductionRequests() {
        var random = FuzzRandom()
        let counts: [Int64] = [0, 1, -1, .min, .max, Int64(Int32.max), Int64(Int32.max) + 1, 1_000, 10_001]
        for _ in 0..<FuzzRandom.cases(20_000) {
            let count = random.chance(0.5) ? random.pick(counts) : Int64.random(in: .min ... .max, using: &random)
            let request = try? DeductionRequest(
                userId: random.chance(0.5) ? "u1" : random.hostileText(), serviceName: random.hostileText(),
                count: count, appId: random.chance(0.5) ? nil : random.hostileText(),
                requestId: random.chance(0.5) ? nil : random.hostileText())
            if let request {
                #expect((1...Limits.maxCallCount).contains(request.count))
                #expect(!request.userId.isEmpty && request.userId.utf8.count <= Limits.maxUserIdLength)
            }
            // Any count within the rules against any price within the catalog's: a cost or a refusal.
            guard let price = try? UnitPrice(microFen: Int64.random(in: 0...UnitPrice.maxMicroFen, using: &random)) else {
                Issue.record("a price within the bounds was refused")
                continue
            }
            let free = random.chance(0.5) ? 0 : Int64.random(in: 0...Int64(Int32.max), using: &random)
            let calls = Int64.random(in: 1...Limits.maxCallCount, using: &random)
            if let plan = try? DeductionPlan(count: calls, freeRemaining: free, price: price) {
                // Free first, the rest paid at the price, exactly (the product fits: both are bounded).
                #expect(plan.freeCount == min(calls, free) && plan.freeCount + plan.paidCount == calls)
                let exact = Int128(plan.paidCount) * Int128(price.microFen)
                #expect(Int128(plan.costFen.value) == exact / 1_000_000, "seed \(random.seed)")
                #expect(Int128(plan.requiredFen.value) == (exact + 999_999) / 1_000_000, "seed \(random.seed)")
            } else {
                Issue.record("seed \(random.seed): \(calls) calls at \(price.microFen) µfen were refused")
            }
        }
    }
}
