import BillingCore
import Foundation

/// The ports BillingService needs, kept in memory: what an embedder writes for its own
/// storage. Each call is one "transaction" (the actor runs them one at a time), and every
/// deduction goes through BillingCore's own algorithm (`DeductionBatch`).
actor MemoryStore: DeductionLedger, AccountReader, RechargeOrderStore, LedgerQueries {
    let catalog: ServiceCatalog
    let calendar: BillingCalendar
    let clock: any BillingClock
    private var state = LedgerSnapshot()
    private var records: [LedgerRecord] = []
    private var orders: [String: RechargeOrder] = [:]
    private var lastRecordId: Int64 = 0

    init(catalog: ServiceCatalog, calendar: BillingCalendar, clock: any BillingClock) {
        self.catalog = catalog
        self.calendar = calendar
        self.clock = clock
    }

    func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt {
        let now = clock.now()
        let batch = DeductionBatch(catalog: catalog, period: calendar.period(containing: now), appliedAt: now)
        let result = batch.apply([request], to: state) { self.nextRecordId() }
        // Commit: the new state and the records together (a real store writes both in one transaction).
        state = result.snapshot
        records += result.records
        return try result.outcomes[0].get()
    }

    private func nextRecordId() -> Int64 {
        lastRecordId += 1
        return lastRecordId
    }

    func account(of userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState {
        var quotas: [String: QuotaUsage] = [:]
        for (key, usage) in state.quotas where key.userId == userId && key.period == period {
            quotas[key.serviceName] = usage
        }
        return AccountState(balanceFen: state.balance(of: userId), quotas: quotas)
    }

    func insert(_ order: RechargeOrder) async throws(BillingError) -> OrderInsertOutcome {
        if let key = order.idempotencyKey, let existing = try await self.order(userId: order.userId, idempotencyKey: key) {
            return .existing(existing)
        }
        guard orders[order.id] == nil else { return .duplicateId }
        orders[order.id] = order
        return .inserted
    }

    func order(id: String) async throws(BillingError) -> RechargeOrder? { orders[id] }

    func order(userId: String, idempotencyKey: String) async throws(BillingError) -> RechargeOrder? {
        orders.values.first { $0.userId == userId && $0.idempotencyKey == idempotencyKey }
    }

    func attachPayment(orderId: String, paymentId: String, payURL: String) async throws(BillingError) -> RechargeOrder {
        guard var order = orders[orderId] else { throw .orderNotFound(orderId) }
        order.paymentId = order.paymentId ?? paymentId
        order.payURL = payURL
        orders[orderId] = order
        return order
    }

    func markFailed(orderId: String, reason: String) async throws(BillingError) {
        orders[orderId]?.markFailed(reason: reason)
    }

    func settle(_ callback: PaymentCallback, at instant: Date) async throws(BillingError) -> Settlement {
        guard var order = callback.orderId.flatMap({ orders[$0] }) else {
            throw .orderNotFound(callback.orderId ?? "")
        }
        let credit = try order.settle(callback, at: instant)
        orders[order.id] = order
        guard credit.isPositive else { return Settlement(order: order, creditedFen: .zero, balanceAfterFen: nil) }
        let balance = try state.balance(of: order.userId).adding(credit, field: "balance")
        state.balances[order.userId] = balance
        return Settlement(order: order, creditedFen: credit, balanceAfterFen: balance)
    }

    func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError) -> RecordPage {
        let mine = records.filter { $0.userId == userId }.sorted { $0.id > $1.id }
        let size = page.size
        return RecordPage(records: Array(mine.prefix(size)), total: Int64(mine.count), page: 1, pageSize: size, nextCursor: nil)
    }

    func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
        -> [ServiceUsage]
    {
        let mine = records.filter { record in
            record.userId == userId && (serviceName == nil || record.serviceName == serviceName)
                && (range.map { $0.contains(record.createdAt) } ?? true)
        }
        return Dictionary(grouping: mine, by: \.serviceName).map { name, records in
            ServiceUsage(
                serviceName: name,
                freeCount: records.filter { $0.type == .free }.reduce(0) { $0 + $1.count },
                paidCount: records.filter { $0.type == .balance }.reduce(0) { $0 + $1.count },
                totalCostFen: Fen(records.reduce(0) { $0 + $1.amountFen.value }))
        }
    }
}

/// A Payment Service that approves everything at once (the embedder's real one goes here).
struct InstantPayments: PaymentGateway {
    func createPayment(_ intent: PaymentIntent) async throws(BillingError) -> PaymentSession {
        PaymentSession(paymentId: "pay_\(intent.orderId)", payURL: "https://pay.example/\(intent.orderId)")
    }
}
