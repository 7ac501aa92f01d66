import Foundation

/// Reads of the ledger for the console: records page by page, and usage totals.
public protocol LedgerQueries: Sendable {
    func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError) -> RecordPage
    /// Usage per service over `range` (all time when nil), only services with records.
    func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
        -> [ServiceUsage]
    /// Usage per local day of `range` (in `calendar`'s zone) and service, only days and
    /// services with records.
    func dailyUsage(of userId: String, over range: DayRange, calendar: BillingCalendar) async throws(BillingError)
        -> [LocalDay: [ServiceUsage]]
}

extension LedgerQueries {
    /// A query per day: right for small in-memory stores; a database answers in one query.
    public func dailyUsage(of userId: String, over range: DayRange, calendar: BillingCalendar)
        async throws(BillingError) -> [LocalDay: [ServiceUsage]]
    {
        var days: [LocalDay: [ServiceUsage]] = [:]
        for day in range.days {
            let usages = try await usage(of: userId, serviceName: nil, in: calendar.bounds(of: day))
            if !usages.isEmpty { days[day] = usages }
        }
        return days
    }
}
