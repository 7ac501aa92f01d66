import BillingCore

extension ServiceCatalog {
    /// `catalog.services` lists the names; each `catalog.NAME` has one price — `price`
    /// (yuan text such as "0.0003", exact to 8 decimals), `price_micro_fen` or the older
    /// `price_fen` — and `free_calls_per_month`. Without a list, the platform default.
    /// These seed each service's first stored price version; later versions come from the
    /// operator API.
    public init(_ settings: SettingsReader) throws(BillingError) {
        let names = settings.list("services")
        guard !names.isEmpty else {
            self = .platformDefault
            return
        }
        var entries: [CatalogEntry] = []
        for name in names {
            let service = settings.scoped(name)
            let price = try Self.price(of: service)
            guard let free = try service.int64("free_calls_per_month", in: 0...ServiceCatalog.maxFreeCallsPerMonth) else {
                throw .invalidConfiguration(key: service.fullKey("free_calls_per_month"), reason: "is required")
            }
            entries.append(CatalogEntry(name: name, price: price, freeCallsPerMonth: free))
        }
        try self.init(entries: entries, configKey: settings.key)
    }

    /// Exactly one of the three price keys; an error names the key and what is wrong.
    private static func price(of service: SettingsReader) throws(BillingError) -> UnitPrice {
        let given = ["price", "price_micro_fen", "price_fen"].filter { service.string($0) != nil }
        guard given.count == 1, let key = given.first, let text = service.string(key) else {
            throw .invalidConfiguration(
                key: service.fullKey(given.first ?? "price"),
                reason: given.isEmpty
                    ? "a price is required: price (yuan, e.g. \"0.0003\"), price_micro_fen or price_fen"
                    : "give one of \(given.joined(separator: ", ")), not several")
        }
        do throws(BillingError) {
            switch key {
            case "price": return try UnitPrice(yuanText: text, field: key)
            default:
                guard let value = Int64(text) else { throw .amountMalformed(field: key) }
                return key == "price_fen"
                    ? try UnitPrice(fen: Fen(value), field: key) : try UnitPrice(microFen: value, field: key)
            }
        } catch {
            throw .invalidConfiguration(key: service.fullKey(key), reason: "'\(text)': \(error.message)")
        }
    }
}

extension BillingCalendar {
    /// `billing.time_zone` (default Asia/Shanghai).
    public init(_ root: SettingsReader) throws(BillingError) {
        try self.init(
            timeZoneIdentifier: root.string("time_zone", default: "Asia/Shanghai"), configKey: root.fullKey("time_zone"))
    }
}
