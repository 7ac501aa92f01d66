import Foundation

/// Where a hold stands. Only `pending` keeps anything; the other three are final.
public enum HoldStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, settled, voided, expired
}

/// A hold's identity: unique per (user, hold id).
public struct HoldKey: Sendable, Hashable, Codable {
    public let userId: String
    public let holdId: String

    public init(userId: String, holdId: String) {
        self.userId = userId
        self.holdId = holdId
    }
}

/// An authorization before a long or streaming call: keep `count` calls' worth of free
/// quota and money for `ttlSeconds`.
public struct HoldRequest: Sendable, Hashable {
    public static let defaultTTLSeconds: Int64 = 300
    public static let ttlRange: ClosedRange<Int64> = 1...3_600

    public let userId: String
    public let serviceName: String
    public let count: Int64
    public let holdId: String
    public let ttlSeconds: Int64
    public let appId: String?

    /// Validates like a deduction; `ttlSeconds` 1 … 3,600 (nil: 300).
    public init(
        userId: String, serviceName: String, count: Int64, holdId: String, ttlSeconds: Int64? = nil,
        appId: String? = nil
    ) throws(BillingError) {
        let deduction = try DeductionRequest(
            userId: userId, serviceName: serviceName, count: count, appId: appId, requestId: holdId)
        let ttl = ttlSeconds ?? Self.defaultTTLSeconds
        guard Self.ttlRange.contains(ttl) else {
            throw .invalidArgument(field: "ttl_seconds", reason: "must be between 1 and 3600")
        }
        self.userId = deduction.userId
        self.serviceName = deduction.serviceName
        self.count = deduction.count
        self.holdId = try Limits.validateIdentifier(holdId, field: "hold_id", maxLength: Limits.maxRequestIdLength)
        self.ttlSeconds = ttl
        self.appId = deduction.appId
    }

    public var key: HoldKey { HoldKey(userId: userId, holdId: holdId) }
}

/// The end of a hold: charge `count` units (0 allowed; more than held is an overrun).
public struct HoldSettlement: Sendable, Hashable {
    public let userId: String
    public let holdId: String
    public let count: Int64

    public init(userId: String, holdId: String, count: Int64) throws(BillingError) {
        self.userId = try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
        self.holdId = try Limits.validateIdentifier(holdId, field: "hold_id", maxLength: Limits.maxRequestIdLength)
        guard (0...Limits.maxCallCount).contains(count) else {
            throw .invalidArgument(field: "count", reason: "must be between 0 and \(Limits.maxCallCount)")
        }
        self.count = count
    }

    public var key: HoldKey { HoldKey(userId: userId, holdId: holdId) }
}

/// A stored hold: what it keeps, at which price, until when, and how it ended.
public struct Hold: Sendable, Hashable, Codable {
    public let userId: String
    public let holdId: String
    public let serviceName: String
    public let appId: String?
    public let count: Int64
    public let ttlSeconds: Int64
    /// The period it was created in: its free units are that period's.
    public let period: QuotaPeriod
    public let freeHeld: Int64
    public let paidHeld: Int64
    /// `⌈paidHeld × price / 10⁶⌉`: the most a settle of the held units can take.
    public let heldFen: Fen
    public let price: AppliedPrice
    public let createdAt: Date
    public let expiresAt: Date
    public var status: HoldStatus
    public var resolvedAt: Date?
    /// The settle's count and answer, replayed to a settle retry.
    public var settledCount: Int64?
    public var settleReceipt: DeductionReceipt?

    public init(
        userId: String, holdId: String, serviceName: String, appId: String?, count: Int64, ttlSeconds: Int64,
        period: QuotaPeriod, freeHeld: Int64, paidHeld: Int64, heldFen: Fen, price: AppliedPrice, createdAt: Date,
        expiresAt: Date, status: HoldStatus, resolvedAt: Date? = nil, settledCount: Int64? = nil,
        settleReceipt: DeductionReceipt? = nil
    ) {
        self.userId = userId
        self.holdId = holdId
        self.serviceName = serviceName
        self.appId = appId
        self.count = count
        self.ttlSeconds = ttlSeconds
        self.period = period
        self.freeHeld = freeHeld
        self.paidHeld = paidHeld
        self.heldFen = heldFen
        self.price = price
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.status = status
        self.resolvedAt = resolvedAt
        self.settledCount = settledCount
        self.settleReceipt = settleReceipt
    }

    public var key: HoldKey { HoldKey(userId: userId, holdId: holdId) }

    /// Whether an authorize retry asks for the same hold.
    func matches(_ request: HoldRequest) -> Bool {
        serviceName == request.serviceName && count == request.count && appId == request.appId
            && ttlSeconds == request.ttlSeconds
    }
}

/// The answer to an authorize (or its replay): the hold and the account around it.
public struct HoldAnswer: Sendable, Hashable {
    public let hold: Hold
    public let balanceFen: Fen
    public let availableFen: Fen
    public let replayed: Bool
}

/// One operation of a lane batch.
public enum LedgerOperation: Sendable, Hashable {
    case deduct(DeductionRequest)
    case authorize(HoldRequest)
    case settle(HoldSettlement)
    case void(HoldKey)
    /// The sweeper's: expire the hold if it is still pending and due; otherwise nothing.
    case expire(HoldKey)
    case refund(RefundRequest)
    case adjust(AdjustmentRequest)

    public var userId: String {
        switch self {
        case .deduct(let request): request.userId
        case .authorize(let request): request.userId
        case .settle(let settlement): settlement.userId
        case .void(let key), .expire(let key): key.userId
        case .refund(let request): request.userId
        case .adjust(let request): request.userId
        }
    }

    /// The hold the operation names, if any.
    public var holdKey: HoldKey? {
        switch self {
        case .deduct, .adjust: nil
        case .refund(let request): if case .hold(let id) = request.target { HoldKey(userId: request.userId, holdId: id) } else { nil }
        case .authorize(let request): request.key
        case .settle(let settlement): settlement.key
        case .void(let key), .expire(let key): key
        }
    }
}

/// What an applied operation answers.
public enum LedgerOutcome: Sendable, Hashable {
    case deducted(DeductionReceipt)
    case held(HoldAnswer)
    /// A settle's charge (the deduct fields) and the hold as it now stands.
    case settled(DeductionReceipt, Hold)
    /// A void's or an expiry's hold as it now stands (voided, expired, or unchanged).
    case released(Hold)
    case refunded(RefundReceipt)
    case adjusted(AdjustmentReceipt)

    /// The deduction receipt, for batches of deductions only.
    public var receipt: DeductionReceipt? {
        if case .deducted(let receipt) = self { return receipt }
        return nil
    }
}
