import BillingCore
import BillingPostgres
import Foundation
import Testing
import TestSupport

/// Every store over a fresh migrated schema (`TestSchema`). `with` runs a test body, then
/// checks the ledger invariant; the schema is dropped afterwards.
struct TestLedger {
    static var sqlDirectory: URL { TestEnvironment.sqlDirectory }

    let config: PostgresConfig
    let pool: PostgresPool
    let lanes: DeductionLanes
    let clock: ManualClock
    let accounts: PostgresAccounts
    let orders: PostgresOrders
    let queries: PostgresLedgerQueries
    let reset: PostgresQuotaReset
    let audit: LedgerAudit
    /// The stored prices, shared with the lanes as in the server.
    let prices: PostgresPrices

    static func with(
        lanes settings: DeductionLanes.Settings = .init(laneCount: 2),
        now: Date = Date(timeIntervalSince1970: 1_795_000_000), catalog: ServiceCatalog = .platformDefault,
        observer: (any LaneObserver)? = nil, _ body: (TestLedger) async throws -> Void
    ) async throws {
        try await TestSchema.with { schema in
            let config = schema.config
            let clock = ManualClock(now)
            let pool = PostgresPool(config: config, settings: .init(size: 4)).started()
            let stored = StoredPrices(catalog: catalog)
            let ledger = TestLedger(
                config: config, pool: pool,
                lanes: DeductionLanes(
                    config: config, catalog: catalog, calendar: .platformDefault, clock: clock,
                    settings: settings, observer: observer, prices: stored
                ).started(),
                clock: clock, accounts: PostgresAccounts(pool: pool), orders: PostgresOrders(pool: pool),
                queries: PostgresLedgerQueries(pool: pool), reset: PostgresQuotaReset(pool: pool),
                audit: LedgerAudit(pool: pool), prices: PostgresPrices(pool: pool, stored: stored))
            do {
                try await body(ledger)
                let report = try await ledger.audit.run()
                #expect(report.isClean, "ledger invariant: \(report)")
            } catch {
                await ledger.close()
                throw error
            }
            await ledger.close()
        }
    }

    func close() async {
        await lanes.shutdown()
        await pool.shutdown()
    }

    var period: QuotaPeriod { BillingCalendar.platformDefault.period(containing: clock.now()) }

    /// Credits a user the way production does: an order and a verified success callback,
    /// so the ledger invariant holds.
    func fund(_ userId: String, fen: Int64) async throws {
        let request = try RechargeRequest(userId: userId, amountFen: Fen(fen), method: .alipay)
        let id = "recharge_\(userId)_\(UUID().uuidString)"
        let order = RechargeOrder(id: id, request: request, idempotencyKey: nil, createdAt: clock.now())
        #expect(try await orders.insert(order) == .inserted)
        let callback = try PaymentCallback(orderId: id, paymentId: "pay_\(id)", amountFen: Fen(fen), outcome: .succeeded)
        _ = try await orders.settle(callback, at: clock.now())
    }

    func deduct(
        _ user: String, _ service: String = "passport", count: Int64 = 1, app: String? = nil, requestId: String? = nil
    ) async throws(BillingError) -> DeductionReceipt {
        try await lanes.deduct(
            DeductionRequest(userId: user, serviceName: service, count: count, appId: app, requestId: requestId))
    }

    /// Uses up a user's free quota of a service for the current period.
    func exhaustFreeQuota(_ user: String, _ service: String) async throws {
        let free = try ServiceCatalog.platformDefault.entry(named: service).freeCallsPerMonth
        _ = try await deduct(user, service, count: free)
    }

    /// The operator's price use cases over this ledger's stores and clock.
    var pricing: PriceAdministration {
        PriceAdministration(
            store: prices, catalog: prices.catalog, calendar: .platformDefault, clock: clock, accounts: accounts,
            cache: nil)
    }

    func balance(_ user: String) async throws -> Fen {
        try await accounts.account(of: user, period: period).balanceFen
    }
}
