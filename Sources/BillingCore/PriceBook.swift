import Foundation

/// One version of a service's catalog terms, in force from `effectiveFrom` until the next
/// version of the same service. Versions are only ever added, never edited, so a record's
/// `versionId` names the exact terms it was charged under.
public struct PriceVersion: Sendable, Hashable, Codable {
    public let id: Int64
    public let serviceName: String
    public let effectiveFrom: Date
    public let price: UnitPrice
    public let freeCallsPerMonth: Int64

    public init(id: Int64, serviceName: String, effectiveFrom: Date, price: UnitPrice, freeCallsPerMonth: Int64) {
        self.id = id
        self.serviceName = serviceName
        self.effectiveFrom = effectiveFrom
        self.price = price
        self.freeCallsPerMonth = freeCallsPerMonth
    }
}

/// A price agreed with one user for one service, valid on [`from`, `to`); it wins over the
/// catalog. Only the price: free allowances stay the catalog's.
public struct PriceOverride: Sendable, Hashable, Codable {
    public let id: Int64
    public let userId: String
    public let serviceName: String
    public let price: UnitPrice
    public let from: Date
    public let to: Date?

    public init(id: Int64, userId: String, serviceName: String, price: UnitPrice, from: Date, to: Date?) {
        self.id = id
        self.userId = userId
        self.serviceName = serviceName
        self.price = price
        self.from = from
        self.to = to
    }

    /// Whether the override applies at `instant`.
    public func covers(_ instant: Date) -> Bool {
        from <= instant && (to.map { instant < $0 } ?? true)
    }

    /// Whether the two validity windows share an instant.
    public func overlaps(from otherFrom: Date, to otherTo: Date?) -> Bool {
        let startsBeforeOtherEnds = otherTo.map { from < $0 } ?? true
        let otherStartsBeforeThisEnds = to.map { otherFrom < $0 } ?? true
        return startsBeforeOtherEnds && otherStartsBeforeThisEnds
    }
}

/// The price a charge used: the unit price, the catalog version in force, and the user's
/// override when one won. Stored on every record and receipt.
public struct AppliedPrice: Sendable, Hashable, Codable {
    public let price: UnitPrice
    public let versionId: Int64
    public let overrideId: Int64?

    public init(price: UnitPrice, versionId: Int64, overrideId: Int64? = nil) {
        self.price = price
        self.versionId = versionId
        self.overrideId = overrideId
    }
}

/// What a charge of one service by one user at one instant is subject to: the price and
/// the free allowance of the instant's period.
public struct ChargeTerms: Sendable, Hashable {
    public let price: AppliedPrice
    public let freeCallsPerMonth: Int64
}

/// Every service's price versions: which price is in force at any instant, and which free
/// allowance a period has (the one in force at the period's first instant).
public struct PriceBook: Sendable, Hashable {
    /// The services that can be charged, with today's configured terms (used when a
    /// service has no stored version yet).
    public let catalog: ServiceCatalog
    private let versions: [String: [PriceVersion]]

    /// Keeps the versions of catalog services, oldest first. A catalog service without any
    /// version is priced by its catalog entry (version 0) from the beginning of time.
    public init(catalog: ServiceCatalog, versions: [PriceVersion] = []) {
        self.catalog = catalog
        var byService: [String: [PriceVersion]] = [:]
        for version in versions where catalog.contains(version.serviceName) {
            byService[version.serviceName, default: []].append(version)
        }
        for entry in catalog.entries where byService[entry.name] == nil {
            byService[entry.name] = [
                PriceVersion(
                    id: entry.versionId, serviceName: entry.name, effectiveFrom: .distantPast, price: entry.price,
                    freeCallsPerMonth: entry.freeCallsPerMonth)
            ]
        }
        self.versions = byService.mapValues { $0.sorted { $0.effectiveFrom < $1.effectiveFrom } }
    }

    /// Every version of `serviceName`, oldest first.
    public func versions(of serviceName: String) throws(BillingError) -> [PriceVersion] {
        guard let list = versions[serviceName] else { throw .unknownService(serviceName) }
        return list
    }

    /// The version in force at `instant`: the latest that started at or before it (the
    /// first version also covers everything before it).
    public func version(of serviceName: String, at instant: Date) throws(BillingError) -> PriceVersion {
        let list = try versions(of: serviceName)
        // Binary search: the last version with effectiveFrom <= instant.
        var low = 0
        var high = list.count
        while low < high {
            let middle = (low + high) / 2
            if list[middle].effectiveFrom <= instant { low = middle + 1 } else { high = middle }
        }
        return list[max(0, low - 1)]
    }

    /// The terms of a charge of `serviceName` at `instant`, in the period starting at
    /// `periodStart`, for a user with `overrides` (any order, any service; the first that
    /// covers the instant wins, and valid overrides never overlap).
    public func terms(
        of serviceName: String, at instant: Date, periodStart: Date, overrides: [PriceOverride] = []
    ) throws(BillingError) -> ChargeTerms {
        let version = try version(of: serviceName, at: instant)
        let allowance = try self.version(of: serviceName, at: periodStart).freeCallsPerMonth
        let applied: AppliedPrice
        if let override = overrides.first(where: { $0.serviceName == serviceName && $0.covers(instant) }) {
            applied = AppliedPrice(price: override.price, versionId: version.id, overrideId: override.id)
        } else {
            applied = AppliedPrice(price: version.price, versionId: version.id)
        }
        return ChargeTerms(price: applied, freeCallsPerMonth: allowance)
    }

    /// The catalog as it stands at `instant` (prices) for the period starting at
    /// `periodStart` (allowances): what the console lists and the monthly reset creates.
    public func catalog(at instant: Date, periodStart: Date) -> ServiceCatalog {
        let entries = catalog.entries.compactMap { entry -> CatalogEntry? in
            guard let current = try? version(of: entry.name, at: instant),
                let allowance = try? version(of: entry.name, at: periodStart).freeCallsPerMonth
            else { return nil }
            return CatalogEntry(
                name: entry.name, price: current.price, freeCallsPerMonth: allowance, versionId: current.id)
        }
        return (try? ServiceCatalog(entries: entries)) ?? catalog
    }
}
