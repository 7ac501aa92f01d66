import Foundation

/// Stored prices: the catalog's versions and users' overrides. Adding is idempotent by the
/// natural key ((service, effective_from) for a version, (user, service, from) for an
/// override): the same terms again replay the stored row, other terms are
/// IDEMPOTENCY_CONFLICT, and an override whose window meets another is PRICE_OVERLAP.
public protocol PriceStore: PriceSource {
    /// Adds a version; `freeCallsPerMonth` nil keeps the allowance in force at
    /// `effectiveFrom`. Quota rows already created for periods the new version governs get
    /// its allowance (never below what they used).
    func addVersion(_ version: NewPriceVersion, calendar: BillingCalendar) async throws(BillingError)
        -> Stored<PriceVersion>
    func addOverride(_ override: NewPriceOverride) async throws(BillingError) -> Stored<PriceOverride>
    /// Every override of the user, oldest first.
    func overrides(of userId: String) async throws(BillingError) -> [PriceOverride]
}

/// A stored row and whether this call created it or found it (a replay).
public struct Stored<Value: Sendable & Hashable>: Sendable, Hashable {
    public let value: Value
    public let replayed: Bool

    public init(_ value: Value, replayed: Bool) {
        self.value = value
        self.replayed = replayed
    }
}

/// An operator's new catalog version, validated by `PriceAdministration`.
public struct NewPriceVersion: Sendable, Hashable {
    public init(
        serviceName: String, effectiveFrom: Date, price: UnitPrice, freeCallsPerMonth: Int64?, operatorName: String
    ) {
        self.serviceName = serviceName
        self.effectiveFrom = effectiveFrom
        self.price = price
        self.freeCallsPerMonth = freeCallsPerMonth
        self.operatorName = operatorName
    }

    public let serviceName: String
    public let effectiveFrom: Date
    public let price: UnitPrice
    public let freeCallsPerMonth: Int64?
    public let operatorName: String
}

/// An operator's new per-user price, validated by `PriceAdministration`.
public struct NewPriceOverride: Sendable, Hashable {
    public init(
        userId: String, serviceName: String, price: UnitPrice, from: Date, to: Date?, operatorName: String
    ) {
        self.userId = userId
        self.serviceName = serviceName
        self.price = price
        self.from = from
        self.to = to
        self.operatorName = operatorName
    }

    public let userId: String
    public let serviceName: String
    public let price: UnitPrice
    public let from: Date
    public let to: Date?
    public let operatorName: String
}
