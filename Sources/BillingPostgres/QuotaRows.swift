import BillingCore

enum QuotaRows {
    /// The CHECK constraint guarantees 0 <= used <= total; a row breaking it is corruption.
    static func usage(total: Int64, used: Int64) throws(BillingError) -> QuotaUsage {
        guard total >= 0, used >= 0, used <= total else {
            throw .internalFailure("quota row with used \(used) and total \(total)")
        }
        return QuotaUsage(total: total, used: used)
    }
}
