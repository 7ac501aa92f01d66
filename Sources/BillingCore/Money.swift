/// An amount of money in fen (1 yuan = 100 fen). The only money type of the service:
/// integer minor units, exact text conversion, arithmetic that reports overflow
/// instead of wrapping.
public struct Fen: Sendable, Hashable, Comparable, Codable {
    public let value: Int64

    /// An amount of `value` fen (1 yuan = 100 fen).
    public init(_ value: Int64) { self.value = value }

    public static let zero = Fen(0)
    public static let fenPerYuan: Int64 = 100

    public static func < (lhs: Fen, rhs: Fen) -> Bool { lhs.value < rhs.value }

    public var isPositive: Bool { value > 0 }

    // Codable as a bare integer, so stored and cached values stay plain numbers.
    public init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

// MARK: - Checked arithmetic

extension Fen {
    /// The sum, or AMOUNT_OUT_OF_RANGE (naming `field`) on overflow.
    public func adding(_ other: Fen, field: String = "amount") throws(BillingError) -> Fen {
        let (sum, overflow) = value.addingReportingOverflow(other.value)
        guard !overflow else { throw .amountOutOfRange(field: field) }
        return Fen(sum)
    }

    /// The difference, or AMOUNT_OUT_OF_RANGE (naming `field`) on overflow.
    public func subtracting(_ other: Fen, field: String = "amount") throws(BillingError) -> Fen {
        let (difference, overflow) = value.subtractingReportingOverflow(other.value)
        guard !overflow else { throw .amountOutOfRange(field: field) }
        return Fen(difference)
    }

    /// The product, or AMOUNT_OUT_OF_RANGE (naming `field`) on overflow.
    public func multiplied(by factor: Int64, field: String = "amount") throws(BillingError) -> Fen {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw .amountOutOfRange(field: field) }
        return Fen(product)
    }
}

// MARK: - Text

extension Fen {
    /// Yuan with exactly two decimals: "12.34", "0.05", "-1.00".
    public var yuanText: String {
        let magnitude = value.magnitude
        let yuan = magnitude / UInt64(Self.fenPerYuan)
        let cents = magnitude % UInt64(Self.fenPerYuan)
        let sign = value < 0 ? "-" : ""
        return "\(sign)\(yuan).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Parses yuan written as a plain decimal ("12", "12.3", "12.34", "-0.5"), as it comes
    /// from JSON text or a query string. Exponents, signs other than a leading minus,
    /// blanks and more than two significant decimals are rejected; trailing zeros past the
    /// second decimal ("1.500") are accepted because they do not change the value.
    public init(yuanText text: String, field: String = "amount") throws(BillingError) {
        guard !text.isEmpty else { throw .amountEmpty(field: field) }
        var digits = Array(text.utf8)[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }

        let parts = digits.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : nil
        guard !whole.isEmpty, whole.allSatisfy(Self.isDigit) else { throw .amountMalformed(field: field) }
        if let fraction {
            guard !fraction.isEmpty, fraction.allSatisfy(Self.isDigit) else { throw .amountMalformed(field: field) }
            guard fraction.dropFirst(2).allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                throw .amountTooPrecise(field: field)
            }
        }

        var fen: Int64 = 0
        for digit in whole {
            fen = try Self.appendDigit(digit, to: fen, field: field)
        }
        var fractionDigits = Array(fraction?.prefix(2) ?? [][...])
        while fractionDigits.count < 2 { fractionDigits.append(UInt8(ascii: "0")) }
        for digit in fractionDigits {
            fen = try Self.appendDigit(digit, to: fen, field: field)
        }
        self.init(negative ? -fen : fen)
    }

    /// Parses an integer number of fen ("1234"), rejecting anything that is not one.
    public init(fenText text: String, field: String = "amount_fen") throws(BillingError) {
        guard !text.isEmpty else { throw .amountEmpty(field: field) }
        var digits = Array(text.utf8)[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy(Self.isDigit) else { throw .amountMalformed(field: field) }
        var fen: Int64 = 0
        for digit in digits {
            fen = try Self.appendDigit(digit, to: fen, field: field)
        }
        self.init(negative ? -fen : fen)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func appendDigit(_ digit: UInt8, to fen: Int64, field: String) throws(BillingError) -> Int64 {
        let (shifted, overflowA) = fen.multipliedReportingOverflow(by: 10)
        let (sum, overflowB) = shifted.addingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
        guard !overflowA, !overflowB else { throw .amountOutOfRange(field: field) }
        return sum
    }
}

// MARK: - Validation

extension Fen {
    /// This amount, if it lies in `range`; the errors say which bound was broken.
    public func validated(in range: ClosedRange<Fen>, field: String) throws(BillingError) -> Fen {
        guard isPositive || range.lowerBound.value <= 0 else { throw .amountNotPositive(field: field) }
        guard range.contains(self) else { throw .amountOutOfRange(field: field) }
        return self
    }
}
