import BillingCore
import Foundation

/// The ports implemented over plain dictionaries, for testing the use cases without I/O.
/// Each call is one "transaction": the actor runs them one at a time.
actor InMemoryLedger: DeductionLedger, AccountReader, RechargeOrderStore, LedgerQueries {
    let catalog: ServiceCatalog
    let calendar: BillingCalendar
    let clock: any BillingClock
    private(set) var snapshot = LedgerSnapshot()
    private(set) var records: [LedgerRecord] = []
    private(set) var orders: [String: RechargeOrder] = [:]
    private var nextRecordId: Int64 = 1

    init(catalog: ServiceCatalog = .platformDefault, calendar: BillingCalendar = .platformDefault, clock: any BillingClock) {
        self.catalog = catalog
        self.calendar = calendar
        self.clock = clock
    }

    func setBalance(_ userId: String, _ fen: Int64) {
        snapshot.balances[userId] = Fen(fen)
    }

    func setQuota(_ userId: String, _ service: String, used: Int64, total: Int64, period: QuotaPeriod) {
        snapshot.quotas[QuotaKey(userId: userId, serviceName: service, period: period)] = QuotaUsage(
            total: total, used: used)
    }

    // MARK: DeductionLedger

    func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt {
        let now = clock.now()
        let batch = DeductionBatch(catalog: catalog, period: calendar.period(containing: now), appliedAt: now)
        let result = batch.apply([request], to: snapshot) { self.takeRecordId() }
        snapshot = result.snapshot
        records += result.records
        return try result.outcomes[0].get()
    }

    private func takeRecordId() -> Int64 {
        defer { nextRecordId += 1 }
        return nextRecordId
    }

    // MARK: AccountReader

    func account(of userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState {
        var quotas: [String: QuotaUsage] = [:]
        for (key, usage) in snapshot.quotas where key.userId == userId && key.period == period {
            quotas[key.serviceName] = usage
        }
        return AccountState(balanceFen: snapshot.balance(of: userId), quotas: quotas)
    }

    // MARK: RechargeOrderStore

    func insert(_ order: RechargeOrder) async throws(BillingError) -> OrderInsertOutcome {
        if let key = order.idempotencyKey,
            let existing = orders.values.first(where: { $0.userId == order.userId && $0.idempotencyKey == key })
        {
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

    func attachPayment(orderId: String, paymentId: String, payURL: String) async throws(BillingError)
        -> RechargeOrder
    {
        guard var order = orders[orderId] else { throw .orderNotFound(orderId) }
        if order.paymentId == nil { order.paymentId = paymentId }
        order.payURL = payURL
        orders[orderId] = order
        return order
    }

    func markFailed(orderId: String, reason: String) async throws(BillingError) {
        orders[orderId]?.markFailed(reason: reason)
    }

    func settle(_ callback: PaymentCallback, at instant: Date) async throws(BillingError) -> Settlement {
        let found =
            callback.orderId.flatMap { orders[$0] }
            ?? orders.values.first { $0.paymentId != nil && $0.paymentId == callback.paymentId }
        guard var order = found else { throw .orderNotFound(callback.orderId ?? callback.paymentId ?? "") }
        let credit = try order.settle(callback, at: instant)
        orders[order.id] = order
        guard credit.isPositive else { return Settlement(order: order, creditedFen: .zero, balanceAfterFen: nil) }
        let balance = try snapshot.balance(of: order.userId).adding(credit, field: "balance")
        snapshot.balances[order.userId] = balance
        return Settlement(order: order, creditedFen: credit, balanceAfterFen: balance)
    }

    func successfulRechargeTotal(of userId: String) -> Fen {
        Fen(orders.values.filter { $0.userId == userId && $0.status == .success }.reduce(0) { $0 + $1.amountFen.value })
    }

    // MARK: LedgerQueries

    func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError) -> RecordPage {
        let matching = records.filter { record in
            record.userId == userId && (filter.serviceName.map { $0 == record.serviceName } ?? true)
                && (filter.type.map { $0 == record.type } ?? true) && (filter.appId.map { $0 == record.appId } ?? true)
                && (filter.from.map { record.createdAt >= $0 } ?? true) && (filter.to.map { record.createdAt < $0 } ?? true)
        }.sorted { $0.id > $1.id }
        switch page {
        case .offset(let number, let size):
            let slice = Array(matching.dropFirst((number - 1) * size).prefix(size))
            let next = slice.count == size ? slice.last.map { RecordCursor(lastId: $0.id) } : nil
            return RecordPage(records: slice, total: Int64(matching.count), page: number, pageSize: size, nextCursor: next)
        case .after(let cursor, let size):
            let slice = Array(matching.filter { $0.id < cursor.lastId }.prefix(size))
            let next = slice.count == size ? slice.last.map { RecordCursor(lastId: $0.id) } : nil
            return RecordPage(records: slice, total: nil, page: nil, pageSize: size, nextCursor: next)
        }
    }

    func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
        -> [ServiceUsage]
    {
        let matching = records.filter { record in
            record.userId == userId && (serviceName.map { $0 == record.serviceName } ?? true)
                && (range.map { $0.contains(record.createdAt) } ?? true)
        }
        return Dictionary(grouping: matching, by: \.serviceName).map { name, records in
            ServiceUsage(
                serviceName: name,
                freeCount: records.filter { $0.type == .free }.reduce(0) { $0 + $1.count },
                paidCount: records.filter { $0.type == .balance }.reduce(0) { $0 + $1.count },
                totalCostFen: Fen(records.reduce(0) { $0 + $1.amountFen.value }))
        }.sorted { $0.serviceName < $1.serviceName }
    }
}
