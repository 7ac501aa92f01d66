import BillingCore
import Testing

@Suite("The service catalog")
struct CatalogTests {
    @Test(
        "the platform default prices and free allowances",
        arguments: [("passport", 1, 10_000), ("payment", 10, 1_000), ("asset", 5, 1_000)] as [(String, Int64, Int64)])
    func defaults(name: String, priceFen: Int64, free: Int64) throws {
        let entry = try ServiceCatalog.platformDefault.entry(named: name)
        #expect(entry.price.microFen == priceFen * UnitPrice.microFenPerFen)
        #expect(entry.freeCallsPerMonth == free)
    }

    @Test("a service that is not in the catalog is UNKNOWN_SERVICE")
    func unknownService() {
        #expect(throws: BillingError.unknownService("weather")) {
            try ServiceCatalog.platformDefault.entry(named: "weather")
        }
    }

    @Test("a catalog is built from configuration values")
    func fromConfiguration() throws {
        let catalog = try ServiceCatalog(entries: [
            CatalogEntry(name: "maps", priceFen: Fen(3), freeCallsPerMonth: 50)
        ])
        #expect(try catalog.entry(named: "maps").price == UnitPrice(fen: Fen(3)))
        #expect(!catalog.contains("passport"))
    }

    @Test(
        "bad configuration names the key",
        arguments: [
            ([CatalogEntry(name: "maps", priceFen: Fen(-1), freeCallsPerMonth: 0)], "catalog.maps.price"),
            ([CatalogEntry(name: "maps", priceFen: Fen(1), freeCallsPerMonth: -1)], "catalog.maps.free_calls_per_month"),
            ([CatalogEntry(name: "Maps!", priceFen: Fen(1), freeCallsPerMonth: 1)], "catalog.Maps!"),
            (
                [
                    CatalogEntry(name: "maps", priceFen: Fen(1), freeCallsPerMonth: 1),
                    CatalogEntry(name: "maps", priceFen: Fen(2), freeCallsPerMonth: 1),
                ], "catalog.maps"
            ),
            ([], "catalog"),
        ])
    func rejectsBadConfiguration(entries: [CatalogEntry], key: String) {
        do {
            _ = try ServiceCatalog(entries: entries)
            Issue.record("expected a configuration error")
        } catch {
            guard case .invalidConfiguration(let badKey, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(badKey == key)
        }
    }
}
