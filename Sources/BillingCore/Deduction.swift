import Foundation

/// One gateway report: `count` calls of `serviceName` made by `userId`.
public struct DeductionRequest: Sendable, Hashable, Codable {
    public let userId: String
    public let serviceName: String
    public let count: Int64
    public let appId: String?
    /// The gateway's idempotency key: applied at most once per (user, requestId).
    public let requestId: String?

    /// Validates every field: identifiers 1–128 printable ASCII characters, `count`
    /// 1 … `Limits.maxCallCount`. The service is checked against the catalog later.
    public init(
        userId: String, serviceName: String, count: Int64, appId: String? = nil, requestId: String? = nil
    ) throws(BillingError) {
        self.userId = try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
        guard !serviceName.isEmpty else {
            throw .invalidArgument(field: "service_name", reason: "must not be empty")
        }
        self.serviceName = serviceName
        guard (1...Limits.maxCallCount).contains(count) else {
            throw .invalidArgument(field: "count", reason: "must be between 1 and \(Limits.maxCallCount)")
        }
        self.count = count
        self.appId = try appId.map { (id: String) throws(BillingError) in
            try Limits.validateIdentifier(id, field: "app_id", maxLength: Limits.maxAppIdLength)
        }
        self.requestId = try requestId.map { (id: String) throws(BillingError) in
            try Limits.validateIdentifier(id, field: "request_id", maxLength: Limits.maxRequestIdLength)
        }
    }

    /// What must match for a retry to count as the same request.
    public var fingerprint: RequestFingerprint {
        RequestFingerprint(serviceName: serviceName, count: count, appId: appId)
    }
}

/// The parameters a retry must repeat to count as the same deduction.
public struct RequestFingerprint: Sendable, Hashable, Codable {
    public let serviceName: String
    public let count: Int64
    public let appId: String?

    public init(serviceName: String, count: Int64, appId: String?) {
        self.serviceName = serviceName
        self.count = count
        self.appId = appId
    }
}

/// How a charge is paid.
public enum PaymentMode: String, Sendable, Hashable, Codable, CaseIterable {
    case free, mixed, balance, denied
}

/// The split of `count` calls into free and paid ones, and their exact cost: the single
/// computation behind both CheckQuota and DeductQuota.
public struct DeductionPlan: Sendable, Hashable {
    public let freeCount: Int64
    public let paidCount: Int64
    /// Fen taken from the balance: `⌊(carry + paid × price) / 10⁶⌋`.
    public let costFen: Fen
    /// Fen that must be available: the exact cost rounded up (0 when nothing is paid).
    public let requiredFen: Fen
    /// The (user, service) carry after the charge, in µfen.
    public let carryAfterMicroFen: Int64

    /// Splits `count` (≥ 1) into free calls (up to `freeRemaining`) and paid ones at
    /// `price` each, on top of `carryMicroFen`; a cost beyond Int64 fen is
    /// AMOUNT_OUT_OF_RANGE, never a wrap.
    public init(count: Int64, freeRemaining: Int64, price: UnitPrice, carryMicroFen: Int64 = 0) throws(BillingError) {
        precondition(count >= 1 && freeRemaining >= 0, "validated before planning")
        freeCount = min(count, freeRemaining)
        paidCount = count - freeCount
        if paidCount == 0 {
            // Free calls need no money, whatever the carry.
            costFen = .zero
            requiredFen = .zero
            carryAfterMicroFen = carryMicroFen
        } else {
            let charge = try ExactCharge(units: paidCount, price: price, carryMicroFen: carryMicroFen)
            costFen = charge.fen
            requiredFen = charge.requiredFen
            carryAfterMicroFen = charge.carryAfterMicroFen
        }
    }

    /// A whole-fen price, no carry (the original catalog).
    public init(count: Int64, freeRemaining: Int64, priceFen: Fen) throws(BillingError) {
        try self.init(count: count, freeRemaining: freeRemaining, price: UnitPrice(fen: priceFen, field: "count"))
    }

    /// Whether `balance` backs the cost rounded up, so the carry is never unbacked.
    public func isAffordable(with balance: Fen) -> Bool { requiredFen <= balance }

    /// How the calls would be paid with `balance`: free, mixed, balance or denied.
    public func mode(balance: Fen) -> PaymentMode {
        guard isAffordable(with: balance) else { return .denied }
        if paidCount == 0 { return .free }
        return freeCount > 0 ? .mixed : .balance
    }
}

/// A free-quota counter for one (user, service, period).
public struct QuotaUsage: Sendable, Hashable, Codable {
    public let total: Int64
    public let used: Int64
    /// Free calls kept by pending holds created in this period.
    public let held: Int64

    /// Requires 0 ≤ used, 0 ≤ held, used + held ≤ total (a broken invariant stops the
    /// process: it is corruption; stored rows are checked before they get here).
    public init(total: Int64, used: Int64, held: Int64 = 0) {
        precondition(total >= 0 && used >= 0 && held >= 0 && used <= total && held <= total - used, "0 <= used + held <= total")
        self.total = total
        self.used = used
        self.held = held
    }

    /// A period's fresh allowance of a service.
    public static func unused(_ entry: CatalogEntry) -> QuotaUsage {
        unused(entry.freeCallsPerMonth)
    }

    /// A period's fresh allowance of `freeCalls` calls.
    public static func unused(_ freeCalls: Int64) -> QuotaUsage {
        QuotaUsage(total: freeCalls, used: 0)
    }

    /// What a new charge or hold may use: neither used nor kept by a pending hold.
    public var remaining: Int64 { max(0, total - used - held) }

    func spending(_ calls: Int64) -> QuotaUsage {
        QuotaUsage(total: total, used: used + calls, held: held)
    }

    /// `calls` more kept by a hold (≤ remaining).
    func holding(_ calls: Int64) -> QuotaUsage {
        QuotaUsage(total: total, used: used, held: held + calls)
    }

    /// A hold's `held` calls given back, `used` of them consumed.
    func releasing(_ heldCalls: Int64, using usedCalls: Int64) -> QuotaUsage {
        QuotaUsage(total: total, used: used + usedCalls, held: held - heldCalls)
    }
}

/// The CheckQuota answer: what a deduction would do right now, changing nothing.
public struct CheckAnswer: Sendable, Hashable {
    public let allowed: Bool
    public let mode: PaymentMode
    public let freeRemaining: Int64
    public let balanceFen: Fen
    /// The balance less what pending holds keep: what the deduction may use.
    public let availableFen: Fen
    /// What the deduction would take from the balance.
    public let costFen: Fen
    /// What must be available for it (the exact cost rounded up).
    public let requiredFen: Fen
    public let price: AppliedPrice

    /// The answer a deduction of `count` calls would get against this quota, balance and carry.
    /// Whether the spend cap left no room (the mode is then `denied`).
    public let capReached: Bool
    /// With a cap: what is left of it this period (never below zero).
    public let capRemainingFen: Fen?

    public init(
        count: Int64, price: AppliedPrice, quota: QuotaUsage, balance: Fen, carryMicroFen: Int64 = 0, held: Fen = .zero,
        spent: Fen = .zero, cap: Fen? = nil
    ) throws(BillingError) {
        let plan = try DeductionPlan(
            count: count, freeRemaining: quota.remaining, price: price.price, carryMicroFen: carryMicroFen)
        let available = Fen(balance.value - held.value)
        // Free calls are never blocked; a paid charge needs room under the cap too.
        let (total, overflow) = spent.value.addingReportingOverflow(plan.costFen.value)
        capReached = plan.costFen > .zero && cap.map { overflow || total > $0.value } == true
        capRemainingFen = cap.map { Fen(max(0, $0.value - spent.value)) }
        mode = capReached ? .denied : plan.mode(balance: available)
        allowed = mode != .denied
        freeRemaining = quota.remaining
        balanceFen = balance
        availableFen = available
        costFen = plan.costFen
        requiredFen = plan.requiredFen
        self.price = price
    }

    /// A whole-fen price with no carry.
    public init(count: Int64, priceFen: Fen, quota: QuotaUsage, balance: Fen) throws(BillingError) {
        try self.init(
            count: count, price: AppliedPrice(price: UnitPrice(fen: priceFen, field: "count"), versionId: 0),
            quota: quota, balance: balance)
    }

    /// The platform's historical wording: "free", "balance" or "insufficient balance".
    public var reason: String {
        switch mode {
        case .free: "free"
        case .mixed, .balance: "balance"
        case .denied: capReached ? "spend cap reached" : "insufficient balance"
        }
    }
}
