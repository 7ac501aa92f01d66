import BillingCore

extension ServiceCatalog {
    /// `catalog.services` lists the names; `catalog.NAME.price_fen` and
    /// `catalog.NAME.free_calls_per_month` give each one. Without a list, the platform default.
    public init(_ settings: SettingsReader) throws(BillingError) {
        let names = settings.list("services")
        guard !names.isEmpty else {
            self = .platformDefault
            return
        }
        var entries: [CatalogEntry] = []
        for name in names {
            let service = settings.scoped(name)
            guard let price = try service.int64("price_fen", in: 0...ServiceCatalog.maxPriceFen.value) else {
                throw .invalidConfiguration(key: service.fullKey("price_fen"), reason: "is required")
            }
            guard let free = try service.int64("free_calls_per_month", in: 0...ServiceCatalog.maxFreeCallsPerMonth) else {
                throw .invalidConfiguration(key: service.fullKey("free_calls_per_month"), reason: "is required")
            }
            entries.append(CatalogEntry(name: name, priceFen: Fen(price), freeCallsPerMonth: free))
        }
        try self.init(entries: entries, configKey: settings.key)
    }
}

extension BillingCalendar {
    /// `billing.time_zone` (default Asia/Shanghai).
    public init(_ root: SettingsReader) throws(BillingError) {
        try self.init(
            timeZoneIdentifier: root.string("time_zone", default: "Asia/Shanghai"), configKey: root.fullKey("time_zone"))
    }
}
