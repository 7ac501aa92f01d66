import BillingCore

enum QuotaRows {
    /// The CHECK constraints guarantee 0 <= used, 0 <= held, used + held <= total; a row
    /// breaking them is corruption.
    static func usage(total: Int64, used: Int64, held: Int64 = 0) throws(BillingError) -> QuotaUsage {
        guard total >= 0, used >= 0, held >= 0, used <= total, held <= total - used else {
            throw .internalFailure("quota row with used \(used), held \(held) and total \(total)")
        }
        return QuotaUsage(total: total, used: used, held: held)
    }
}
