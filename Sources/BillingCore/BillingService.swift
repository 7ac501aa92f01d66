import Foundation

/// The billing use cases, written only against the ports.
public struct BillingService: Sendable {
    /// How often an order id is moved on by a millisecond when two orders collide.
    static let maxOrderIdAttempts = 8

    public let catalog: ServiceCatalog
    public let calendar: BillingCalendar
    private let clock: any BillingClock
    private let ledger: any DeductionLedger
    private let accounts: any AccountReader
    private let cache: (any AccountCache)?
    private let orders: any RechargeOrderStore
    private let payments: any PaymentGateway
    private let queries: any LedgerQueries
    private let observer: (any UseCaseObserver)?
    private let prices: any PriceSource
    private let holds: (any OperationLedger)?
    private let settingsStore: (any SettingsStore)?
    private let holdQueries: (any HoldQueries)?

    /// The use cases over the given ports. `cache` may be nil: every read then goes to
    /// `accounts`. `observer` (metrics) hears how every deduction, recharge and callback ended.
    /// `prices` (default: the catalog's prices, forever) prices checks and the account view;
    /// the ledger prices deductions from the same source.
    public init(
        catalog: ServiceCatalog, calendar: BillingCalendar, clock: any BillingClock, ledger: any DeductionLedger,
        accounts: any AccountReader, cache: (any AccountCache)?, orders: any RechargeOrderStore,
        payments: any PaymentGateway, queries: any LedgerQueries, observer: (any UseCaseObserver)? = nil,
        prices: (any PriceSource)? = nil, holds: (any OperationLedger)? = nil, holdQueries: (any HoldQueries)? = nil,
        settings: (any SettingsStore)? = nil
    ) {
        self.settingsStore = settings
        self.prices = prices ?? FixedPrices(PriceBook(catalog: catalog))
        self.holds = holds
        self.holdQueries = holdQueries
        self.catalog = catalog
        self.calendar = calendar
        self.clock = clock
        self.ledger = ledger
        self.accounts = accounts
        self.cache = cache
        self.orders = orders
        self.payments = payments
        self.queries = queries
        self.observer = observer
    }

    /// Runs `body` and tells `report` how it ended.
    private func observed<T>(
        _ report: ((any UseCaseObserver)?, Result<T, BillingError>) -> Void,
        _ body: () async throws(BillingError) -> T
    ) async throws(BillingError) -> T {
        do {
            let value = try await body()
            report(observer, .success(value))
            return value
        } catch {
            report(observer, .failure(error))
            throw error
        }
    }

    // MARK: Account and quota

    /// The user's balance and this period's quota of every catalog service. Reads only; a
    /// user never seen reads as zero balance and unused quotas.
    public func account(userId: String) async throws(BillingError) -> AccountView {
        let userId = try Self.validUser(userId)
        let now = clock.now()
        let period = calendar.period(containing: now)
        let book = try await prices.priceBook()
        let state = try await accountState(userId, period: period)
        var quotas: [QuotaView] = []
        for entry in catalog.entries {
            let terms = try book.terms(
                of: entry.name, at: now, periodStart: calendar.bounds(of: period).lowerBound,
                overrides: state.overrides)
            quotas.append(
                QuotaView(
                    serviceName: entry.name, usage: state.quota(of: entry.name, freeCalls: terms.freeCallsPerMonth),
                    period: period, price: terms.price))
        }
        return AccountView(
            userId: userId, balanceFen: state.balanceFen, heldFen: state.heldFen, currency: "CNY", quotas: quotas,
            spentFen: state.spentFen, spendCapFen: state.spendCapFen)
    }

    /// What `deduct` would do now, changing nothing: the same price, carry and allowance.
    public func check(userId: String, serviceName: String, count: Int64) async throws(BillingError) -> CheckAnswer {
        let request = try DeductionRequest(userId: userId, serviceName: serviceName, count: count)
        _ = try catalog.entry(named: request.serviceName)
        let now = clock.now()
        let period = calendar.period(containing: now)
        let book = try await prices.priceBook()
        let state = try await accountState(request.userId, period: period)
        let terms = try book.terms(
            of: request.serviceName, at: now, periodStart: calendar.bounds(of: period).lowerBound,
            overrides: state.overrides)
        return try CheckAnswer(
            count: request.count, price: terms.price,
            quota: state.quota(of: request.serviceName, freeCalls: terms.freeCallsPerMonth),
            balance: state.balanceFen, carryMicroFen: state.carry(of: request.serviceName), held: state.heldFen,
            spent: state.spentFen, cap: state.spendCapFen)
    }

    /// Charges `request` (free quota first, then balance) and returns the receipt once the
    /// ledger has committed it. A known `requestId` replays the original receipt; the same id
    /// with other parameters is IDEMPOTENCY_CONFLICT; too little balance is
    /// INSUFFICIENT_BALANCE with nothing changed.
    public func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt {
        try await observed({ $0?.deducted($1) }) { () async throws(BillingError) in
            // Rejected before it takes a place in a lane.
            _ = try catalog.entry(named: request.serviceName)
            return try await ledger.deduct(request)
        }
    }

    /// `deduct(_:)` answered through `completion` (once, on the ledger's thread, or here at
    /// once for a request refused before the ledger); false, and nothing done, when the
    /// ledger cannot answer that way.
    public func deduct(
        _ request: DeductionRequest, completion: @escaping @Sendable (Result<DeductionReceipt, BillingError>) -> Void
    ) -> Bool {
        guard let ledger = ledger as? any CallbackDeductionLedger else { return false }
        let observer = observer
        let report: @Sendable (Result<DeductionReceipt, BillingError>) -> Void = { result in
            observer?.deducted(result)
            completion(result)
        }
        do throws(BillingError) {
            _ = try catalog.entry(named: request.serviceName)
        } catch {
            report(.failure(error))
            return true
        }
        ledger.deduct(request, completion: report)
        return true
    }

    // MARK: Holds

    /// Keeps `count` calls' worth of free quota and money for `ttlSeconds` (402 when not
    /// available, nothing kept). The same hold id replays; with other parameters it conflicts.
    public func authorizeHold(_ request: HoldRequest) async throws(BillingError) -> HoldAnswer {
        _ = try catalog.entry(named: request.serviceName)
        let outcome = try await performHold("authorize", .authorize(request))
        guard case .held(let answer) = outcome else { throw .internalFailure("authorize answered \(outcome)") }
        return answer
    }

    /// Charges `count` units of the hold (0 allowed; more is an overrun) and ends it.
    public func settleHold(_ settlement: HoldSettlement) async throws(BillingError) -> (DeductionReceipt, Hold) {
        let outcome = try await performHold("settle", .settle(settlement))
        guard case .settled(let receipt, let hold) = outcome else { throw .internalFailure("settle answered \(outcome)") }
        return (receipt, hold)
    }

    /// Gives back everything the hold keeps (idempotent; an expired hold answers as such).
    public func voidHold(userId: String, holdId: String) async throws(BillingError) -> Hold {
        let key = HoldKey(
            userId: try Self.validUser(userId),
            holdId: try Limits.validateIdentifier(holdId, field: "hold_id", maxLength: Limits.maxRequestIdLength))
        let outcome = try await performHold("void", .void(key))
        guard case .released(let hold) = outcome else { throw .internalFailure("void answered \(outcome)") }
        return hold
    }

    // MARK: Settings

    /// The user's spend cap, low-balance threshold and alert percents.
    public func settings(userId: String) async throws(BillingError) -> UserSettings {
        guard let settingsStore else { throw .unavailable("settings are not enabled") }
        return try await settingsStore.settings(of: Self.validUser(userId))
    }

    /// Applies a PUT; the next check and charge see it.
    public func updateSettings(userId: String, _ update: SettingsUpdate) async throws(BillingError) -> UserSettings {
        guard let settingsStore else { throw .unavailable("settings are not enabled") }
        let userId = try Self.validUser(userId)
        let saved = try await settingsStore.update(userId, with: update)
        await refreshCache(userId: userId)
        return saved
    }

    // MARK: Refunds and adjustments

    /// Gives back units of an applied deduction or settled hold (paid first, then free).
    public func refund(_ request: RefundRequest) async throws(BillingError) -> RefundReceipt {
        let outcome = try await performHold("refund", .refund(request))
        guard case .refunded(let receipt) = outcome else { throw .internalFailure("refund answered \(outcome)") }
        return receipt
    }

    /// An operator's credit or debit (a debit only of available funds).
    public func adjust(_ request: AdjustmentRequest) async throws(BillingError) -> AdjustmentReceipt {
        let outcome = try await performHold("adjust", .adjust(request))
        guard case .adjusted(let receipt) = outcome else { throw .internalFailure("adjust answered \(outcome)") }
        return receipt
    }

    /// The user's pending holds.
    public func pendingHolds(userId: String) async throws(BillingError) -> [Hold] {
        let userId = try Self.validUser(userId)
        guard let holdQueries else { throw .unavailable("holds are not enabled") }
        return try await holdQueries.pendingHolds(of: userId)
    }

    private func performHold(_ name: String, _ operation: LedgerOperation) async throws(BillingError) -> LedgerOutcome {
        guard let holds else { throw .unavailable("holds are not enabled") }
        do {
            let outcome = try await holds.perform(operation)
            observer?.holdOperation(name, .success(outcome))
            return outcome
        } catch {
            observer?.holdOperation(name, .failure(error))
            throw error
        }
    }

    /// A gateway's buffered deductions (at most `Limits.maxBatchItems`): each item on its
    /// own, answered in order. Items that did not parse come in as failures and stay so.
    public func deductBatch(_ items: [Result<DeductionRequest, BillingError>]) async throws(BillingError)
        -> [Result<DeductionReceipt, BillingError>]
    {
        guard items.count <= Limits.maxBatchItems else {
            throw .tooLarge("a batch holds at most \(Limits.maxBatchItems) items, not \(items.count)")
        }
        // Each item's own refusal (unparsed, unknown service, no request id) stays in its place.
        var results: [Result<DeductionReceipt, BillingError>] = []
        var valid: [(position: Int, request: DeductionRequest)] = []
        for (position, item) in items.enumerated() {
            do throws(BillingError) {
                let request = try item.get()
                _ = try catalog.entry(named: request.serviceName)
                guard request.requestId != nil else {
                    throw .invalidArgument(field: "request_id", reason: "is required in a batch and on a stream")
                }
                valid.append((position, request))
                results.append(.failure(.internalFailure("not answered")))
            } catch {
                results.append(.failure(error))
            }
        }
        let answers = await ledger.deductAll(valid.map(\.request))
        for (item, answer) in zip(valid, answers) {
            results[item.position] = answer
            observer?.deducted(answer)
        }
        return results
    }

    private func accountState(_ userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState {
        if let cached = await cache?.account(of: userId, period: period) { return cached }
        let state = try await accounts.account(of: userId, period: period)
        await cache?.store(state, of: userId, period: period)
        return state
    }

    // MARK: Recharge

    /// Creates an order, asks the Payment Service for a payment, and returns the order
    /// with its pay URL. The same idempotency key returns the same order.
    public func recharge(_ request: RechargeRequest, idempotencyKey: String?, clientIP: String? = nil)
        async throws(BillingError) -> RechargeOrder
    {
        try await observed({ $0?.rechargeStarted($1) }) { () async throws(BillingError) in
            try await startRecharge(request, idempotencyKey: idempotencyKey, clientIP: clientIP)
        }
    }

    private func startRecharge(_ request: RechargeRequest, idempotencyKey: String?, clientIP: String?)
        async throws(BillingError) -> RechargeOrder
    {
        let key = try idempotencyKey.map { (key: String) throws(BillingError) in
            try Limits.validateIdentifier(key, field: "Idempotency-Key", maxLength: Limits.maxRequestIdLength)
        }
        if let key, let existing = try await orders.order(userId: request.userId, idempotencyKey: key) {
            return try Self.sameOrder(existing, as: request, key: key)
        }

        let now = clock.now()
        var order: RechargeOrder?
        for attempt in 0..<Self.maxOrderIdAttempts {
            let id = RechargeOrder.makeId(userId: request.userId, at: now, offsetMilliseconds: Int64(attempt))
            let candidate = RechargeOrder(id: id, request: request, idempotencyKey: key, createdAt: now)
            switch try await orders.insert(candidate) {
            case .inserted: order = candidate
            case .duplicateId: continue
            case .existing(let existing): return try Self.sameOrder(existing, as: request, key: key ?? "")
            }
            break
        }
        guard let order else { throw .overloaded("too many recharge orders at once; try again") }

        let session: PaymentSession
        do {
            session = try await payments.createPayment(PaymentIntent(order: order, clientIP: clientIP))
        } catch {
            let reason = error.kind == .upstreamUnavailable ? error.message : "payment service error: \(error.code)"
            try await orders.markFailed(orderId: order.id, reason: reason)
            throw error.kind == .upstreamUnavailable ? error : .paymentServiceUnavailable(error.message)
        }
        return try await orders.attachPayment(orderId: order.id, paymentId: session.paymentId, payURL: session.payURL)
    }

    /// One of the user's recharge orders; another user's order reads as ORDER_NOT_FOUND.
    public func order(userId: String, orderId: String) async throws(BillingError) -> RechargeOrder {
        let userId = try Self.validUser(userId)
        // Another user's order is reported as missing, so ids cannot be probed.
        guard let order = try await orders.order(id: orderId), order.userId == userId else {
            throw .orderNotFound(orderId)
        }
        return order
    }

    /// Handles an authenticated Payment Service callback.
    public func settle(_ callback: PaymentCallback) async throws(BillingError) -> Settlement {
        try await observed({ $0?.settled($1) }) { () async throws(BillingError) in try await applySettlement(callback) }
    }

    private func applySettlement(_ callback: PaymentCallback) async throws(BillingError) -> Settlement {
        let settlement = try await orders.settle(callback, at: clock.now())
        if settlement.creditedFen.isPositive {
            await refreshCache(userId: settlement.order.userId)
        }
        return settlement
    }

    private func refreshCache(userId: String) async {
        guard let cache else { return }
        let period = calendar.period(containing: clock.now())
        if let state = try? await accounts.account(of: userId, period: period) {
            await cache.store(state, of: userId, period: period)
        }
    }

    private static func sameOrder(_ existing: RechargeOrder, as request: RechargeRequest, key: String)
        throws(BillingError) -> RechargeOrder
    {
        guard existing.amountFen == request.amountFen, existing.method == request.method,
            existing.currency == request.currency
        else {
            throw .idempotencyConflict(requestId: key)
        }
        return existing
    }

    // MARK: Ledger and statistics

    /// The user's ledger records, newest first, one page.
    public func records(userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError)
        -> RecordPage
    {
        let userId = try Self.validUser(userId)
        if let service = filter.serviceName, !catalog.contains(service) { throw .unknownService(service) }
        return try await queries.records(of: userId, filter: filter, page: page)
    }

    /// Calls, free and paid counts and cost in fen today or this month (configured zone).
    public func stats(userId: String, serviceName: String?, window: StatsWindow) async throws(BillingError)
        -> UsageStats
    {
        let userId = try Self.validUser(userId)
        if let serviceName, !catalog.contains(serviceName) { throw .unknownService(serviceName) }
        let now = clock.now()
        let range =
            switch window {
            case .today: calendar.dayBounds(containing: now)
            case .month: calendar.bounds(of: calendar.period(containing: now))
            }
        let usages = try await queries.usage(of: userId, serviceName: serviceName, in: range)
        let usage = ServiceUsage.total(of: usages, name: serviceName ?? "all")
        return UsageStats(userId: userId, serviceName: serviceName, window: window, usage: usage)
    }

    /// Calls, free and paid counts and cost per local day (configured zone) and service,
    /// every day of the range listed.
    public func dailyStats(userId: String, range: DayRange) async throws(BillingError) -> DailyStats {
        let userId = try Self.validUser(userId)
        let found = try await queries.dailyUsage(of: userId, over: range, calendar: calendar)
        let days = range.days.map { day in
            let services = (found[day] ?? []).sorted { $0.serviceName < $1.serviceName }
            return DailyUsage(day: day, total: .total(of: services, name: "all"), services: services)
        }
        return DailyStats(
            userId: userId, timeZone: calendar.timeZone.identifier, days: days,
            total: .total(of: days.map(\.total), name: "all"))
    }

    /// The local day of now (configured zone): the default end of a daily range.
    public var today: LocalDay { calendar.day(containing: clock.now()) }

    /// All-time usage per service: every catalog service, then retired ones with records.
    public func summary(userId: String) async throws(BillingError) -> UsageSummary {
        let userId = try Self.validUser(userId)
        let usages = try await queries.usage(of: userId, serviceName: nil, in: nil)
        let byName = Dictionary(usages.map { ($0.serviceName, $0) }, uniquingKeysWith: { first, _ in first })
        let listed = catalog.entries.map { byName[$0.name] ?? .zero($0.name) }
        let retired = usages.filter { !catalog.contains($0.serviceName) }.sorted { $0.serviceName < $1.serviceName }
        let services = listed + retired
        return UsageSummary(userId: userId, total: .total(of: services, name: "all"), services: services)
    }

    private static func validUser(_ userId: String) throws(BillingError) -> String {
        try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
    }
}
