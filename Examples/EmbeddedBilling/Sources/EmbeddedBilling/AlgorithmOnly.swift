import BillingCore
import Foundation

/// The README's embedding snippet, kept compiling and checked: the algorithm alone, on
/// state the embedder loads and stores itself.
enum AlgorithmOnly {
    static func run() throws -> Bool {
        let catalog = try ServiceCatalog(entries: [CatalogEntry(name: "search", priceFen: Fen(2), freeCallsPerMonth: 100)])
        let now = Date()
        var state = LedgerSnapshot(balances: ["alice": Fen(500)])
        var lastId: Int64 = 0
        let result = DeductionBatch(
            catalog: catalog, period: BillingCalendar.platformDefault.period(containing: now), appliedAt: now
        )
        .apply([try DeductionRequest(userId: "alice", serviceName: "search", count: 120, requestId: "r1")], to: state) {
            lastId += 1
            return lastId
        }
        state = result.snapshot
        let receipt = try result.outcomes[0].get()
        return receipt.freeCount == 100 && receipt.paidCount == 20 && receipt.costFen == Fen(40)
            && state.balance(of: "alice") == Fen(460) && result.records.count == 2
    }
}
