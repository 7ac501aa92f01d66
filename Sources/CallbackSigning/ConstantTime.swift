/// Comparison whose time does not depend on where two secrets first differ.
public enum ConstantTime {
    public static func equals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        // Always walk the expected value's length, so a short guess takes as long as a long one.
        var right = rhs.makeIterator()
        for byte in lhs {
            difference |= byte ^ (right.next() ?? 0)
        }
        return difference == 0 && lhs.count == rhs.count
    }

    public static func equals(_ lhs: String, _ rhs: String) -> Bool { equals(Array(lhs.utf8), Array(rhs.utf8)) }

    /// True when `candidate` equals any of `secrets`; every secret is compared.
    public static func matchesAny(_ candidate: String, _ secrets: [String]) -> Bool {
        secrets.reduce(false) { found, secret in equals(secret, candidate) || found }
    }
}
