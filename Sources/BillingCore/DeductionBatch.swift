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

/// A carry's identity: one per (user, service), across periods.
public struct ChargeKey: Sendable, Hashable, Codable {
    public let userId: String
    public let serviceName: String

    public init(userId: String, serviceName: String) {
        self.userId = userId
        self.serviceName = serviceName
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
    /// µfen carried per (user, service); missing is none.
    public var carries: [ChargeKey: Int64]
    /// Each user's price overrides (any that might cover the batch's instant).
    public var overrides: [String: [PriceOverride]]
    /// Fen kept by each user's pending holds (missing: none).
    public var heldFen: [String: Fen] = [:]
    /// The holds the batch's operations name, as stored (missing: no such hold).
    public var holds: [HoldKey: Hold] = [:]
    /// The consumption records of each refund target the batch names (missing: no such target).
    public var refundTargets: [RefundTargetKey: [LedgerRecord]] = [:]
    /// Units already refunded of each of those targets.
    public var refunded: [RefundTargetKey: RefundedUnits] = [:]
    /// Refunds and adjustments already applied under the ids the batch names.
    public var refunds: [OperationKey: StoredRefund] = [:]
    public var adjustments: [OperationKey: StoredAdjustment] = [:]
    /// Each user's settings (missing: none), spend and alert memory (missing: nothing yet).
    public var settings: [String: UserSettings] = [:]
    public var spend: [String: SpendState] = [:]
    public var alerts: [String: AlertState] = [:]
    /// Users first seen by this batch: a refusal of theirs leaves nothing (no alert either).
    public var newUsers: Set<String> = []

    /// The state a batch starts from; missing balances read as zero, missing quota rows as
    /// the catalog's fresh allowance, missing carries as zero.
    public init(
        balances: [String: Fen] = [:], quotas: [QuotaKey: QuotaUsage] = [:],
        idempotency: [IdempotencyKey: IdempotencyEntry] = [:], carries: [ChargeKey: Int64] = [:],
        overrides: [String: [PriceOverride]] = [:]
    ) {
        self.balances = balances
        self.quotas = quotas
        self.idempotency = idempotency
        self.carries = carries
        self.overrides = overrides
    }

    /// The user's balance; zero when unknown.
    public func balance(of userId: String) -> Fen { balances[userId] ?? .zero }

    /// The counter under `key`, or the catalog's fresh allowance when there is none.
    public func quota(_ key: QuotaKey, entry: CatalogEntry) -> QuotaUsage {
        quotas[key] ?? .unused(entry)
    }

    /// The counter under `key`, or a fresh allowance of `freeCalls` when there is none.
    public func quota(_ key: QuotaKey, freeCalls: Int64) -> QuotaUsage {
        quotas[key] ?? .unused(freeCalls)
    }

    /// The carry of `key` in µfen; zero when unknown.
    public func carry(_ key: ChargeKey) -> Int64 { carries[key] ?? 0 }

    /// Fen the user's pending holds keep.
    public func held(by userId: String) -> Fen { heldFen[userId] ?? .zero }

    /// What a new charge or hold may take: the balance less what pending holds keep.
    public func available(to userId: String) -> Fen { Fen(balance(of: userId).value - held(by: userId).value) }
}

/// The effect of one batch: an outcome per request (in request order), the rows that
/// changed and must be written back, and the new ledger records.
public struct BatchResult: Sendable {
    /// One per operation, in order.
    public var results: [Result<LedgerOutcome, BillingError>] = []
    public var snapshot: LedgerSnapshot
    /// Users whose balance row changes (balance, held fen or carries): its version moves on.
    public var changedBalances: Set<String> = []
    public var changedQuotas: Set<QuotaKey> = []
    public var changedCarries: Set<ChargeKey> = []
    /// Holds created by this batch, and holds whose state it changed.
    public var newHolds: Set<HoldKey> = []
    public var changedHolds: Set<HoldKey> = []
    /// Refunds and adjustments this batch applied.
    public var newRefunds: [OperationKey] = []
    public var newAdjustments: [OperationKey] = []
    /// Events for the outbox, written with the batch. A refused operation may leave one (a
    /// cap or balance refusal is itself an alert).
    public var events: [BillingEvent] = []
    public var records: [LedgerRecord] = []
    public var newIdempotencyEntries: [IdempotencyKey: IdempotencyEntry] = [:]

    init(snapshot: LedgerSnapshot) { self.snapshot = snapshot }

    /// The deductions' receipts, for a batch of deductions only.
    public var outcomes: [Result<DeductionReceipt, BillingError>] {
        results.map { result in
            result.flatMap { outcome in
                outcome.receipt.map { .success($0) } ?? .failure(.internalFailure("not a deduction"))
            }
        }
    }
}

/// The deduction algorithm of product.md, applied to a batch in arrival order.
/// A rejected request changes nothing and does not affect the others.
public struct DeductionBatch: Sendable {
    public let prices: PriceBook
    public let period: QuotaPeriod
    /// The period's first instant: its free allowances are the ones in force then.
    public let periodStart: Date
    /// The batch's one instant: it decides the price version of every charge.
    public let appliedAt: Date

    /// A batch applied at one instant, in one period, with the prices of `prices`.
    public init(prices: PriceBook, period: QuotaPeriod, periodStart: Date, appliedAt: Date) {
        self.prices = prices
        self.period = period
        self.periodStart = periodStart
        self.appliedAt = appliedAt
    }

    /// A batch with one unchanging catalog.
    public init(catalog: ServiceCatalog, period: QuotaPeriod, appliedAt: Date) {
        self.init(prices: PriceBook(catalog: catalog), period: period, periodStart: appliedAt, appliedAt: appliedAt)
    }

    /// Deductions only. `nextRecordId` is called once per written record, in order.
    public func apply(
        _ requests: [DeductionRequest], to snapshot: LedgerSnapshot, nextRecordId: () -> Int64
    ) -> BatchResult {
        apply(operations: requests.map(LedgerOperation.deduct), to: snapshot, nextRecordId: nextRecordId)
    }

    /// Every operation in order; a refused one changes nothing (except a settle that finds
    /// its hold due, which expires it and answers HOLD_EXPIRED).
    public func apply(
        operations: [LedgerOperation], to snapshot: LedgerSnapshot, nextRecordId: () -> Int64
    ) -> BatchResult {
        var result = BatchResult(snapshot: snapshot)
        // Room for what a batch of deductions adds, so the tables are not regrown item by item.
        result.results.reserveCapacity(operations.count)
        result.records.reserveCapacity(operations.count)
        result.newIdempotencyEntries.reserveCapacity(operations.count)
        result.snapshot.idempotency.reserveCapacity(result.snapshot.idempotency.count + operations.count)
        result.changedBalances.reserveCapacity(operations.count)
        for operation in operations {
            do throws(BillingError) {
                let outcome: LedgerOutcome
                switch operation {
                case .deduct(let request): outcome = .deducted(try deduct(request, to: &result, nextRecordId: nextRecordId))
                case .authorize(let request): outcome = .held(try authorize(request, to: &result))
                case .settle(let settlement): outcome = try settle(settlement, to: &result, nextRecordId: nextRecordId)
                case .void(let key): outcome = .released(try void(key, to: &result))
                case .expire(let key): outcome = .released(try expire(key, to: &result))
                case .refund(let request): outcome = .refunded(try refund(request, to: &result, nextRecordId: nextRecordId))
                case .adjust(let request): outcome = .adjusted(try adjust(request, to: &result, nextRecordId: nextRecordId))
                }
                result.results.append(.success(outcome))
            } catch {
                result.results.append(.failure(error))
            }
        }
        return result
    }

    private func deduct(
        _ request: DeductionRequest, to result: inout BatchResult, nextRecordId: () -> Int64
    ) throws(BillingError) -> DeductionReceipt {
        let idempotencyKey = request.requestId.map { IdempotencyKey(userId: request.userId, requestId: $0) }
        if let idempotencyKey, let previous = result.snapshot.idempotency[idempotencyKey] {
            guard previous.fingerprint == request.fingerprint else {
                throw .idempotencyConflict(requestId: idempotencyKey.requestId)
            }
            return previous.receipt.markedAsReplay()
        }

        let terms = try prices.terms(
            of: request.serviceName, at: appliedAt, periodStart: periodStart,
            overrides: result.snapshot.overrides[request.userId] ?? [])
        let quotaKey = QuotaKey(userId: request.userId, serviceName: request.serviceName, period: period)
        let chargeKey = ChargeKey(userId: request.userId, serviceName: request.serviceName)
        let quotaStored = result.snapshot.quotas[quotaKey] != nil
        let quota = result.snapshot.quota(quotaKey, freeCalls: terms.freeCallsPerMonth)
        let balance = result.snapshot.balance(of: request.userId)
        let available = result.snapshot.available(to: request.userId)
        let carry = result.snapshot.carry(chargeKey)
        let plan = try DeductionPlan(
            count: request.count, freeRemaining: quota.remaining, price: terms.price.price, carryMicroFen: carry)
        guard plan.isAffordable(with: available) else {
            noteRefusedForBalance(request.userId, available: available, in: &result)
            throw .insufficientBalance(requiredFen: plan.requiredFen.value, availableFen: available.value)
        }
        try checkCap(request.userId, adding: plan.costFen, in: &result)

        // Nothing below can fail: the state changes only once the request is accepted.
        let newQuota = quota.spending(plan.freeCount)
        let newBalance = Fen(balance.value - plan.costFen.value)
        var recordIds: [Int64] = []
        let price = terms.price
        if plan.freeCount > 0 {
            let record = makeRecord(
                request, type: .free, count: plan.freeCount, amount: .zero, price: price, id: nextRecordId())
            recordIds.append(record.id)
            result.records.append(record)
        }
        if plan.paidCount > 0 {
            let record = makeRecord(
                request, type: .balance, count: plan.paidCount, amount: plan.costFen, price: price, id: nextRecordId())
            recordIds.append(record.id)
            result.records.append(record)
        }
        result.snapshot.quotas[quotaKey] = newQuota
        // A paid call on a used-up free quota leaves its row as it was: nothing to write (most
        // calls of a month are these). A row not stored yet is created either way.
        if plan.freeCount > 0 || !quotaStored { result.changedQuotas.insert(quotaKey) }
        result.snapshot.balances[request.userId] = newBalance
        result.changedBalances.insert(request.userId)
        if plan.carryAfterMicroFen != carry {
            result.snapshot.carries[chargeKey] = plan.carryAfterMicroFen
            result.changedCarries.insert(chargeKey)
        }

        addSpend(request.userId, plan.costFen.value, in: &result)
        noteAvailable(request.userId, from: available, credit: false, in: &result)
        let receipt = DeductionReceipt(
            recordIds: recordIds, freeCount: plan.freeCount, paidCount: plan.paidCount, costFen: plan.costFen,
            balanceAfterFen: newBalance, freeRemainingAfter: newQuota.remaining, replayed: false, price: price,
            availableAfterFen: Fen(available.value - plan.costFen.value))
        if let idempotencyKey {
            let entry = IdempotencyEntry(fingerprint: request.fingerprint, receipt: receipt)
            result.snapshot.idempotency[idempotencyKey] = entry
            result.newIdempotencyEntries[idempotencyKey] = entry
        }
        return receipt
    }

    func makeRecord(
        _ request: DeductionRequest, type: RecordType, count: Int64, amount: Fen, price: AppliedPrice, id: Int64
    ) -> LedgerRecord {
        LedgerRecord(
            id: id, userId: request.userId, serviceName: request.serviceName, appId: request.appId, type: type,
            count: count, amountFen: amount, requestId: request.requestId, period: period, createdAt: appliedAt,
            price: price)
    }
}
