/// One billable service: what a call costs and how many calls a month are free.
public struct CatalogEntry: Sendable, Hashable {
    public let name: String
    public let price: UnitPrice
    public let freeCallsPerMonth: Int64
    /// The stored price version these terms come from (0: configuration, not stored yet).
    public let versionId: Int64

    /// A service priced `price` per call, with `freeCallsPerMonth` free calls each period.
    public init(name: String, price: UnitPrice, freeCallsPerMonth: Int64, versionId: Int64 = 0) {
        self.name = name
        self.price = price
        self.freeCallsPerMonth = freeCallsPerMonth
        self.versionId = versionId
    }

    /// A whole-fen price. One beyond the price bound is kept as such and refused by
    /// `ServiceCatalog`, which validates every entry.
    public init(name: String, priceFen: Fen, freeCallsPerMonth: Int64) {
        let (microFen, overflow) = priceFen.value.multipliedReportingOverflow(by: UnitPrice.microFenPerFen)
        self.init(
            name: name, price: UnitPrice(unvalidatedMicroFen: overflow ? Int64.max : microFen),
            freeCallsPerMonth: freeCallsPerMonth)
    }
}

/// The services the platform bills for. Built from configuration and validated once,
/// so the deduction path can trust every entry.
public struct ServiceCatalog: Sendable, Hashable {
    public static let maxFreeCallsPerMonth: Int64 = 1_000_000_000
    public static let maxServiceNameLength = 64

    public let entries: [CatalogEntry]
    private let byName: [String: CatalogEntry]

    /// Validates names (unique, 1–64 characters of a-z, 0-9, `-`, `_`), prices (0 …
    /// `UnitPrice.maxMicroFen`) and allowances (0 … `maxFreeCallsPerMonth`); an error names
    /// `configKey`. Entries are kept sorted by name.
    public init(entries: [CatalogEntry], configKey: String = "catalog") throws(BillingError) {
        guard !entries.isEmpty else {
            throw .invalidConfiguration(key: configKey, reason: "the catalog has no services")
        }
        var byName: [String: CatalogEntry] = [:]
        for entry in entries {
            let key = "\(configKey).\(entry.name)"
            guard Self.isValidName(entry.name) else {
                throw .invalidConfiguration(
                    key: key, reason: "a service name is 1–64 characters of a-z, 0-9, '-' and '_'")
            }
            guard (0...UnitPrice.maxMicroFen).contains(entry.price.microFen) else {
                throw .invalidConfiguration(
                    key: "\(key).price",
                    reason: "the price must be between 0 and \(UnitPrice.maximum.yuanText) yuan a unit")
            }
            guard (0...Self.maxFreeCallsPerMonth).contains(entry.freeCallsPerMonth) else {
                throw .invalidConfiguration(
                    key: "\(key).free_calls_per_month",
                    reason: "free calls must be between 0 and \(Self.maxFreeCallsPerMonth)")
            }
            guard byName[entry.name] == nil else {
                throw .invalidConfiguration(key: key, reason: "the service is listed twice")
            }
            byName[entry.name] = entry
        }
        self.entries = entries.sorted { $0.name < $1.name }
        self.byName = byName
    }

    /// The catalog the platform runs today.
    public static let platformDefault: ServiceCatalog = {
        do {
            return try ServiceCatalog(entries: [
                CatalogEntry(name: "passport", priceFen: Fen(1), freeCallsPerMonth: 10_000),
                CatalogEntry(name: "payment", priceFen: Fen(10), freeCallsPerMonth: 1_000),
                CatalogEntry(name: "asset", priceFen: Fen(5), freeCallsPerMonth: 1_000),
            ])
        } catch {
            preconditionFailure("the built-in catalog is valid: \(error)")
        }
    }()

    /// The service called `name`, or UNKNOWN_SERVICE.
    public func entry(named name: String) throws(BillingError) -> CatalogEntry {
        guard let entry = byName[name] else { throw .unknownService(name) }
        return entry
    }

    /// Whether `name` is in the catalog.
    public func contains(_ name: String) -> Bool { byName[name] != nil }

    private static func isValidName(_ name: String) -> Bool {
        guard (1...maxServiceNameLength).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }
}
