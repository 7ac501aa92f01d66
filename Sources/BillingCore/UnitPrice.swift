/// A price per unit in integer micro-fen (1 fen = 1,000,000 µfen; 1 yuan = 10⁸ µfen), so
/// usage priced per token or per thousand calls is exact: 0.3 fen is 300,000 µfen.
/// Bounded to 0 … 10¹² µfen (10,000 yuan a unit), so `units × price` fits in 128 bits
/// with room to spare and is never computed in a type that could trap.
public struct UnitPrice: Sendable, Hashable, Comparable, Codable {
    public static let microFenPerFen: Int64 = 1_000_000
    public static let microFenPerYuan: Int64 = 100_000_000
    public static let maxMicroFen: Int64 = 1_000_000_000_000
    /// Decimals of a yuan a price may be written with (one µfen is 10⁻⁸ yuan).
    public static let maxYuanDecimals = 8

    public let microFen: Int64

    public static let maximum = UnitPrice(unvalidatedMicroFen: maxMicroFen)
    public static let zero = UnitPrice(unvalidatedMicroFen: 0)

    /// For callers that validate afterwards (`ServiceCatalog`) or hold a checked value.
    init(unvalidatedMicroFen: Int64) { microFen = unvalidatedMicroFen }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(Int64.self)
        do { try self.init(microFen: value) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microFen)
    }

    /// Whether the price is a whole number of fen (no carry can ever arise from it).
    public var isWholeFen: Bool { microFen % Self.microFenPerFen == 0 }

    /// Refuses a price outside 0 … `maxMicroFen`, naming `field`.
    public init(microFen: Int64, field: String = "price_micro_fen") throws(BillingError) {
        guard microFen >= 0 else { throw .invalidArgument(field: field, reason: "a price cannot be negative") }
        guard microFen <= Self.maxMicroFen else { throw .amountOutOfRange(field: field) }
        self.microFen = microFen
    }

    /// A whole-fen price (today's catalog) as micro-fen.
    public init(fen: Fen, field: String = "price_fen") throws(BillingError) {
        guard fen.value >= 0 else { throw .invalidArgument(field: field, reason: "a price cannot be negative") }
        guard fen.value <= Self.maxMicroFen / Self.microFenPerFen else { throw .amountOutOfRange(field: field) }
        try self.init(microFen: fen.value * Self.microFenPerFen, field: field)
    }

    /// Parses yuan text such as "0.0003" (= 0.03 fen = 30,000 µfen): digits, at most one
    /// point, at most 8 decimals that matter (zeros beyond are accepted), no sign, no
    /// exponent; a price beyond `maxMicroFen` is AMOUNT_OUT_OF_RANGE.
    public init(yuanText text: String, field: String = "price") throws(BillingError) {
        guard !text.isEmpty else { throw .amountEmpty(field: field) }
        let bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "-") {
            throw .invalidArgument(field: field, reason: "a price cannot be negative")
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : []
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard !whole.isEmpty, whole.allSatisfy(isDigit), parts.count == 1 || !fraction.isEmpty,
            fraction.allSatisfy(isDigit)
        else { throw .amountMalformed(field: field) }
        guard fraction.dropFirst(Self.maxYuanDecimals).allSatisfy({ $0 == UInt8(ascii: "0") }) else {
            throw .invalidArgument(field: field, reason: "a price has at most 8 decimals of a yuan (1 µfen)")
        }
        // Whole yuan beyond the bound are refused before any arithmetic.
        let significantWhole = whole.drop(while: { $0 == UInt8(ascii: "0") })
        guard significantWhole.count <= 5 else { throw .amountOutOfRange(field: field) }
        var microFen: Int64 = 0
        var digits = Array(whole) + Array(fraction.prefix(Self.maxYuanDecimals))
        digits += Array(repeating: UInt8(ascii: "0"), count: Self.maxYuanDecimals - min(fraction.count, Self.maxYuanDecimals))
        for digit in digits.drop(while: { $0 == UInt8(ascii: "0") }) {
            // At most 5 + 8 significant digits: below 10¹⁴, no overflow possible.
            microFen = microFen * 10 + Int64(digit - UInt8(ascii: "0"))
        }
        try self.init(microFen: microFen, field: field)
    }

    public static func < (lhs: UnitPrice, rhs: UnitPrice) -> Bool { lhs.microFen < rhs.microFen }

    /// The price in yuan with as many decimals as it needs (at least two): "0.0003", "0.10".
    /// Written from its digits: every deduction's answer carries it.
    public var yuanText: String {
        let yuan = microFen / Self.microFenPerYuan
        // Negative only before validation (`unvalidatedMicroFen`): the sign goes in front.
        var fraction = (microFen % Self.microFenPerYuan).magnitude
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: Self.maxYuanDecimals)
        for index in digits.indices.reversed() {
            digits[index] += UInt8(fraction % 10)
            fraction /= 10
        }
        var count = digits.count
        while count > 2, digits[count - 1] == UInt8(ascii: "0") { count -= 1 }
        let sign = microFen < 0 && yuan == 0 ? "-" : ""
        return sign + String(yuan) + "." + String(decoding: digits[..<count], as: UTF8.self)
    }
}
