import Foundation
import BillingCore
import Testing

@Suite("Money is integer fen with exact yuan text")
struct MoneyTests {
    @Test(
        "yuan text parses exactly",
        arguments: [
            ("0.01", 1), ("100", 10_000), ("100.0", 10_000), ("999999.99", 99_999_999), ("12.3", 1_230),
            ("0", 0), ("1.500", 150), ("-0.5", -50), ("1000000.00", 100_000_000),
        ] as [(String, Int64)])
    func parsesYuan(text: String, fen: Int64) throws {
        #expect(try Fen(yuanText: text) == Fen(fen))
    }

    @Test(
        "bad yuan text is rejected with its own code",
        arguments: [
            ("", "AMOUNT_EMPTY"), ("0.001", "AMOUNT_TOO_PRECISE"), ("1.234", "AMOUNT_TOO_PRECISE"),
            ("1e3", "AMOUNT_MALFORMED"), ("abc", "AMOUNT_MALFORMED"), ("1.", "AMOUNT_MALFORMED"),
            (".5", "AMOUNT_MALFORMED"), ("+1", "AMOUNT_MALFORMED"), (" 1", "AMOUNT_MALFORMED"),
            ("1,00", "AMOUNT_MALFORMED"), ("1.2.3", "AMOUNT_MALFORMED"), ("-", "AMOUNT_MALFORMED"),
            ("١٢", "AMOUNT_MALFORMED"), ("92233720368547758.08", "AMOUNT_OUT_OF_RANGE"),
            ("99999999999999999999", "AMOUNT_OUT_OF_RANGE"),
        ])
    func rejectsBadYuan(text: String, code: String) {
        #expect(throws: BillingError.self) { try Fen(yuanText: text) }
        do {
            _ = try Fen(yuanText: text)
        } catch {
            #expect(error.code == code)
        }
    }

    @Test("the largest amount that fits in Int64 fen parses, one fen more does not")
    func int64Boundary() throws {
        #expect(try Fen(yuanText: "92233720368547758.07") == Fen(.max))
        #expect(throws: BillingError.amountOutOfRange(field: "amount")) { try Fen(yuanText: "92233720368547758.08") }
    }

    @Test("integer fen text parses, anything else is rejected")
    func parsesFen() throws {
        #expect(try Fen(fenText: "1234") == Fen(1234))
        #expect(try Fen(fenText: "-7") == Fen(-7))
        #expect(throws: BillingError.amountMalformed(field: "amount_fen")) { try Fen(fenText: "12.5") }
        #expect(throws: BillingError.amountEmpty(field: "amount_fen")) { try Fen(fenText: "") }
        #expect(throws: BillingError.amountOutOfRange(field: "amount_fen")) { try Fen(fenText: "9223372036854775808") }
    }

    @Test(
        "fen print as yuan with exactly two decimals",
        arguments: [
            (0, "0.00"), (1, "0.01"), (10, "0.10"), (1234, "12.34"), (100_000_000, "1000000.00"), (-5, "-0.05"),
            (Int64.min, "-92233720368547758.08"), (Int64.max, "92233720368547758.07"),
        ] as [(Int64, String)])
    func printsYuan(fen: Int64, text: String) {
        #expect(Fen(fen).yuanText == text)
    }

    @Test("arithmetic reports overflow instead of wrapping")
    func checkedArithmetic() throws {
        #expect(try Fen(5).adding(Fen(7)) == Fen(12))
        #expect(try Fen(5).subtracting(Fen(7)) == Fen(-2))
        #expect(try Fen(5).multiplied(by: 7) == Fen(35))
        #expect(throws: BillingError.amountOutOfRange(field: "amount")) { try Fen(.max).adding(Fen(1)) }
        #expect(throws: BillingError.amountOutOfRange(field: "amount")) { try Fen(.min).subtracting(Fen(1)) }
        #expect(throws: BillingError.amountOutOfRange(field: "amount")) { try Fen(.max / 2 + 1).multiplied(by: 2) }
    }

    @Test("a positive amount is required where one is asked for")
    func positiveValidation() throws {
        let range = Limits.minRechargeFen...Limits.maxRechargeFen
        #expect(throws: BillingError.amountNotPositive(field: "amount")) {
            try Fen(yuanText: "-1").validated(in: range, field: "amount")
        }
        #expect(throws: BillingError.amountNotPositive(field: "amount")) {
            try Fen(yuanText: "0").validated(in: range, field: "amount")
        }
        #expect(throws: BillingError.amountOutOfRange(field: "amount")) {
            try Fen(yuanText: "1000000.01").validated(in: range, field: "amount")
        }
        #expect(try Fen(yuanText: "0.01").validated(in: range, field: "amount") == Fen(1))
    }

    @Test("fen encode as a bare integer")
    func codable() throws {
        let data = try JSONEncoder().encode([Fen(1234)])
        #expect(String(decoding: data, as: UTF8.self) == "[1234]")
        #expect(try JSONDecoder().decode([Fen].self, from: data) == [Fen(1234)])
    }
}
