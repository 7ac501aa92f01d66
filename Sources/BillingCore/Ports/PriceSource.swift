/// Where the use cases get prices from. The book must be fresh enough for any instant up
/// to a minute ahead: new versions and overrides start at least a minute after they are
/// added, so a copy refreshed more often than that is never wrong.
public protocol PriceSource: Sendable {
    func priceBook() async throws(BillingError) -> PriceBook
}

/// Prices that never change: a fixed book (embedders, tests, the configured catalog alone).
public struct FixedPrices: PriceSource {
    public let book: PriceBook

    public init(_ book: PriceBook) { self.book = book }

    public func priceBook() async throws(BillingError) -> PriceBook { book }
}
