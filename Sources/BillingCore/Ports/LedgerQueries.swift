import Foundation

/// Reads of the ledger for the console: records page by page, and usage totals.
public protocol LedgerQueries: Sendable {
    func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError) -> RecordPage
    /// Usage per service over `range` (all time when nil), only services with records.
    func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
        -> [ServiceUsage]
}
