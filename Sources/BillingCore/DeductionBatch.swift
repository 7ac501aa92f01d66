import Foundation

/// A free-quota counter's identity: one per (user, service, period).
public struct QuotaKey: Sendable, Hashable, Codable {
    public let userId: String
    public let serviceName: String
    public let period: QuotaPeriod

    public init(userId: String, serviceName: String, period: QuotaPeriod) {
        self.userId = userId
        self.serviceName = serviceName
        self.period = period
    }
}

/// A deduction's idempotency key: unique per (user, request id).
public struct IdempotencyKey: Sendable, Hashable, Codable {
    public let userId: String
    public let requestId: String

    public init(userId: String, requestId: String) {
        self.userId = userId
        self.requestId = requestId
    }
}

/// The rows a batch may touch, as read (and locked) before it is applied. A missing
/// balance is an account that has never been touched (0); a missing quota is a period
/// whose row does not exist yet (nothing used of the catalog allowance).
public struct LedgerSnapshot: Sendable, Hashable {
    public var balances: [String: Fen]
    public var quotas: [QuotaKey: QuotaUsage]
    public var idempotency: [IdempotencyKey: IdempotencyEntry]

    /// The state a batch starts from; missing balances read as zero, missing quota rows as
    /// the catalog's fresh allowance.
    public init(
        balances: [String: Fen] = [:], quotas: [QuotaKey: QuotaUsage] = [:],
        idempotency: [IdempotencyKey: IdempotencyEntry] = [:]
    ) {
        self.balances = balances
        self.quotas = quotas
        self.idempotency = idempotency
    }

    /// The user's balance; zero when unknown.
    public func balance(of userId: String) -> Fen { balances[userId] ?? .zero }

    /// The counter under `key`, or the catalog's fresh allowance when there is none.
    public func quota(_ key: QuotaKey, entry: CatalogEntry) -> QuotaUsage {
        quotas[key] ?? .unused(entry)
    }
}

/// The effect of one batch: an outcome per request (in request order), the rows that
/// changed and must be written back, and the new ledger records.
public struct BatchResult: Sendable {
    public var outcomes: [Result<DeductionReceipt, BillingError>] = []
    public var snapshot: LedgerSnapshot
    public var changedBalances: Set<String> = []
    public var changedQuotas: Set<QuotaKey> = []
    public var records: [LedgerRecord] = []
    public var newIdempotencyEntries: [IdempotencyKey: IdempotencyEntry] = [:]

    init(snapshot: LedgerSnapshot) { self.snapshot = snapshot }
}

/// The deduction algorithm of product.md, applied to a batch in arrival order.
/// A rejected request changes nothing and does not affect the others.
public struct DeductionBatch: Sendable {
    public let catalog: ServiceCatalog
    public let period: QuotaPeriod
    public let appliedAt: Date

    /// A batch applied at one instant, in one period, with one catalog.
    public init(catalog: ServiceCatalog, period: QuotaPeriod, appliedAt: Date) {
        self.catalog = catalog
        self.period = period
        self.appliedAt = appliedAt
    }

    /// `nextRecordId` is called once per written record, in order.
    public func apply(
        _ requests: [DeductionRequest], to snapshot: LedgerSnapshot, nextRecordId: () -> Int64
    ) -> BatchResult {
        var result = BatchResult(snapshot: snapshot)
        result.outcomes.reserveCapacity(requests.count)
        for request in requests {
            do {
                let receipt = try apply(request, to: &result, nextRecordId: nextRecordId)
                result.outcomes.append(.success(receipt))
            } catch {
                result.outcomes.append(.failure(error))
            }
        }
        return result
    }

    private func apply(
        _ request: DeductionRequest, to result: inout BatchResult, nextRecordId: () -> Int64
    ) throws(BillingError) -> DeductionReceipt {
        let idempotencyKey = request.requestId.map { IdempotencyKey(userId: request.userId, requestId: $0) }
        if let idempotencyKey, let previous = result.snapshot.idempotency[idempotencyKey] {
            guard previous.fingerprint == request.fingerprint else {
                throw .idempotencyConflict(requestId: idempotencyKey.requestId)
            }
            return previous.receipt.markedAsReplay()
        }

        let entry = try catalog.entry(named: request.serviceName)
        let quotaKey = QuotaKey(userId: request.userId, serviceName: request.serviceName, period: period)
        let quota = result.snapshot.quota(quotaKey, entry: entry)
        let balance = result.snapshot.balance(of: request.userId)
        let plan = try DeductionPlan(count: request.count, freeRemaining: quota.remaining, priceFen: entry.priceFen)
        guard plan.isAffordable(with: balance) else {
            throw .insufficientBalance(requiredFen: plan.costFen.value, availableFen: balance.value)
        }

        // Nothing below can fail: the state changes only once the request is accepted.
        let newQuota = quota.spending(plan.freeCount)
        let newBalance = Fen(balance.value - plan.costFen.value)
        var recordIds: [Int64] = []
        if plan.freeCount > 0 {
            let record = makeRecord(request, type: .free, count: plan.freeCount, amount: .zero, id: nextRecordId())
            recordIds.append(record.id)
            result.records.append(record)
        }
        if plan.paidCount > 0 {
            let record = makeRecord(
                request, type: .balance, count: plan.paidCount, amount: plan.costFen, id: nextRecordId())
            recordIds.append(record.id)
            result.records.append(record)
        }
        result.snapshot.quotas[quotaKey] = newQuota
        result.changedQuotas.insert(quotaKey)
        result.snapshot.balances[request.userId] = newBalance
        result.changedBalances.insert(request.userId)

        let receipt = DeductionReceipt(
            recordIds: recordIds, freeCount: plan.freeCount, paidCount: plan.paidCount, costFen: plan.costFen,
            balanceAfterFen: newBalance, freeRemainingAfter: newQuota.remaining, replayed: false)
        if let idempotencyKey {
            let entry = IdempotencyEntry(fingerprint: request.fingerprint, receipt: receipt)
            result.snapshot.idempotency[idempotencyKey] = entry
            result.newIdempotencyEntries[idempotencyKey] = entry
        }
        return receipt
    }

    private func makeRecord(
        _ request: DeductionRequest, type: RecordType, count: Int64, amount: Fen, id: Int64
    ) -> LedgerRecord {
        LedgerRecord(
            id: id, userId: request.userId, serviceName: request.serviceName, appId: request.appId, type: type,
            count: count, amountFen: amount, requestId: request.requestId, period: period, createdAt: appliedAt)
    }
}
