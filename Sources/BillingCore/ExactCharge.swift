/// A paid charge at a sub-fen price, exact to the last micro-fen. Each (user, service) keeps
/// a carry, `0 ≤ carry < 10⁶` µfen: what was consumed but is not yet a whole fen. A charge of
/// `units` at `price` costs `⌊(carry + units × price) / 10⁶⌋` fen and leaves the remainder
/// as the new carry, so over any sequence of charges
/// `Σ fen × 10⁶ + carry = Σ units × price` exactly: never rounded against the user, never
/// drifting, never unbacked.
public struct ExactCharge: Sendable, Hashable {
    /// Fen taken from the balance now.
    public let fen: Fen
    /// µfen carried to the next charge of this user and service.
    public let carryAfterMicroFen: Int64
    /// Fen that must be available for the charge: the cost rounded up, so the carry is
    /// always backed by money the user had.
    public let requiredFen: Fen

    /// Refuses a carry outside 0 ..< 10⁶ (corruption), negative units, and a cost beyond
    /// Int64 fen (AMOUNT_OUT_OF_RANGE). The product is computed in 128 bits: it cannot trap.
    public init(units: Int64, price: UnitPrice, carryMicroFen: Int64) throws(BillingError) {
        guard (0..<UnitPrice.microFenPerFen).contains(carryMicroFen) else {
            throw .internalFailure("carry \(carryMicroFen) µfen outside 0 ..< 1000000")
        }
        guard units >= 0 else { throw .invalidArgument(field: "count", reason: "must not be negative") }
        let exact = UInt128(UInt64(units)) * UInt128(UInt64(price.microFen)) + UInt128(UInt64(carryMicroFen))
        let perFen = UInt128(UInt64(UnitPrice.microFenPerFen))
        let (whole, remainder) = exact.quotientAndRemainder(dividingBy: perFen)
        let roundedUp = remainder == 0 ? whole : whole + 1
        guard roundedUp <= UInt128(UInt64(Int64.max)) else { throw .amountOutOfRange(field: "count") }
        fen = Fen(Int64(whole))
        carryAfterMicroFen = Int64(remainder)
        requiredFen = Fen(Int64(roundedUp))
    }

    /// What the charge takes and leaves, as a pair.
    var settled: (fen: Fen, carryAfter: Int64) { (fen, carryAfterMicroFen) }
}
