import Foundation

/// The operator's price use cases: new catalog versions and per-user prices. Both start at
/// least `minimumLead` after now, so every process's copy of the prices (refreshed more
/// often than that) already holds them when they take effect.
public struct PriceAdministration: Sendable {
    public static let minimumLead: TimeInterval = 60

    private let store: any PriceStore
    private let catalog: ServiceCatalog
    private let calendar: BillingCalendar
    private let clock: any BillingClock
    private let accounts: any AccountReader
    private let cache: (any AccountCache)?

    public init(
        store: any PriceStore, catalog: ServiceCatalog, calendar: BillingCalendar, clock: any BillingClock,
        accounts: any AccountReader, cache: (any AccountCache)?
    ) {
        self.store = store
        self.catalog = catalog
        self.calendar = calendar
        self.clock = clock
        self.accounts = accounts
        self.cache = cache
    }

    /// Every version of the service, oldest first.
    public func versions(of serviceName: String) async throws(BillingError) -> [PriceVersion] {
        _ = try catalog.entry(named: serviceName)
        return try await store.priceBook().versions(of: serviceName)
    }

    /// Adds a version of `serviceName` from `effectiveFrom` (at least a minute ahead).
    public func addVersion(
        serviceName: String, price: UnitPrice, freeCallsPerMonth: Int64?, effectiveFrom: Date, operatorName: String
    ) async throws(BillingError) -> Stored<PriceVersion> {
        _ = try catalog.entry(named: serviceName)
        if let freeCallsPerMonth, !(0...ServiceCatalog.maxFreeCallsPerMonth).contains(freeCallsPerMonth) {
            throw .invalidArgument(
                field: "free_calls_per_month", reason: "must be between 0 and \(ServiceCatalog.maxFreeCallsPerMonth)")
        }
        try requireLead(effectiveFrom, field: "effective_from")
        return try await store.addVersion(
            NewPriceVersion(
                serviceName: serviceName, effectiveFrom: effectiveFrom, price: price,
                freeCallsPerMonth: freeCallsPerMonth, operatorName: try Self.validOperator(operatorName)),
            calendar: calendar)
    }

    /// The user's overrides, oldest first.
    public func overrides(of userId: String) async throws(BillingError) -> [PriceOverride] {
        try await store.overrides(
            of: Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength))
    }

    /// Adds a price for one user and service on [from, to); `from` at least a minute ahead.
    public func addOverride(
        userId: String, serviceName: String, price: UnitPrice, from: Date, to: Date?, operatorName: String
    ) async throws(BillingError) -> Stored<PriceOverride> {
        let userId = try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
        _ = try catalog.entry(named: serviceName)
        try requireLead(from, field: "from")
        if let to, to <= from { throw .invalidArgument(field: "to", reason: "must be after 'from'") }
        let stored = try await store.addOverride(
            NewPriceOverride(
                userId: userId, serviceName: serviceName, price: price, from: from, to: to,
                operatorName: try Self.validOperator(operatorName)))
        // The store bumped the account's version: the cached copy is replaced, overrides and all.
        if let cache, !stored.replayed {
            let period = calendar.period(containing: clock.now())
            if let state = try? await accounts.account(of: userId, period: period) {
                await cache.store(state, of: userId, period: period)
            }
        }
        return stored
    }

    private func requireLead(_ instant: Date, field: String) throws(BillingError) {
        guard instant.timeIntervalSince(clock.now()) >= Self.minimumLead else {
            throw .invalidArgument(field: field, reason: "must be at least one minute ahead")
        }
    }

    /// An operator's name: 1–128 printable ASCII characters (spaces allowed: it is a name).
    private static func validOperator(_ name: String) throws(BillingError) -> String {
        guard !name.isEmpty, name.utf8.count <= 128, name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else {
            throw .operatorRequired
        }
        return name
    }
}
