import Foundation

/// How a ledger record was paid. The raw values are the platform's stored type codes.
public enum RecordType: Int, Sendable, Hashable, Codable, CaseIterable {
    case free = 1
    case balance = 2
    /// Paid units given back: `amountFen` is the fen returned.
    case refund = 3
    /// An operator's credit (positive `amountFen`) or debit (negative).
    case adjustment = 4
    /// Free units given back (to the quota only while their period is current).
    case freeRefund = 5

    public var name: String {
        switch self {
        case .free: "free"
        case .balance: "balance"
        case .refund: "refund"
        case .adjustment: "adjustment"
        case .freeRefund: "free_refund"
        }
    }

    /// Parses a name or its number; anything else is INVALID_ARGUMENT.
    public init(name: String) throws(BillingError) {
        guard let type = Self.allCases.first(where: { $0.name == name || String($0.rawValue) == name }) else {
            throw .invalidArgument(
                field: "type", reason: "must be one of \(Self.allCases.map(\.name).joined(separator: ", "))")
        }
        self = type
    }
}

/// One line of the consumption ledger. Written once, never updated.
public struct LedgerRecord: Sendable, Hashable, Codable {
    public let id: Int64
    public let userId: String
    public let serviceName: String
    public let appId: String?
    public let type: RecordType
    public let count: Int64
    public let amountFen: Fen
    public let requestId: String?
    public let period: QuotaPeriod
    public let createdAt: Date
    /// The price the record was charged at (nil on records written before prices were stored).
    public let price: AppliedPrice?
    /// The hold whose settle wrote the record.
    public let holdId: String?
    /// The records a refund gives back units of.
    public let refersTo: [Int64]

    public init(
        id: Int64, userId: String, serviceName: String, appId: String?, type: RecordType, count: Int64,
        amountFen: Fen, requestId: String?, period: QuotaPeriod, createdAt: Date, price: AppliedPrice? = nil,
        holdId: String? = nil, refersTo: [Int64] = []
    ) {
        self.id = id
        self.userId = userId
        self.serviceName = serviceName
        self.appId = appId
        self.type = type
        self.count = count
        self.amountFen = amountFen
        self.requestId = requestId
        self.period = period
        self.createdAt = createdAt
        self.price = price
        self.holdId = holdId
        self.refersTo = refersTo
    }

    /// The record's unit price in µfen: stored, or (records from before prices were stored,
    /// whole-fen prices) its amount per unit.
    public var unitPriceMicroFen: Int64 {
        if let price { return price.price.microFen }
        guard count > 0 else { return 0 }
        return (amountFen.value / count).multipliedReportingOverflow(by: UnitPrice.microFenPerFen).partialValue
    }
}

/// The answer to an applied deduction. A retry with the same request id gets the same
/// receipt back with `replayed` set.
public struct DeductionReceipt: Sendable, Hashable, Codable {
    public let recordIds: [Int64]
    public let freeCount: Int64
    public let paidCount: Int64
    public let costFen: Fen
    public let balanceAfterFen: Fen
    public let freeRemainingAfter: Int64
    public let replayed: Bool
    /// The price charged (nil when replaying a deduction stored before prices were).
    public let price: AppliedPrice?
    /// The balance less what pending holds keep, right after (nil on answers stored before
    /// holds existed).
    public let availableAfterFen: Fen?

    public init(
        recordIds: [Int64], freeCount: Int64, paidCount: Int64, costFen: Fen, balanceAfterFen: Fen,
        freeRemainingAfter: Int64, replayed: Bool, price: AppliedPrice? = nil, availableAfterFen: Fen? = nil
    ) {
        self.recordIds = recordIds
        self.freeCount = freeCount
        self.paidCount = paidCount
        self.costFen = costFen
        self.balanceAfterFen = balanceAfterFen
        self.freeRemainingAfter = freeRemainingAfter
        self.replayed = replayed
        self.price = price
        self.availableAfterFen = availableAfterFen
    }

    public var mode: PaymentMode {
        if paidCount == 0 { return .free }
        return freeCount > 0 ? .mixed : .balance
    }

    /// The same receipt, marked as the answer to a retry.
    public func markedAsReplay() -> DeductionReceipt {
        DeductionReceipt(
            recordIds: recordIds, freeCount: freeCount, paidCount: paidCount, costFen: costFen,
            balanceAfterFen: balanceAfterFen, freeRemainingAfter: freeRemainingAfter, replayed: true, price: price,
            availableAfterFen: availableAfterFen)
    }
}

/// What an applied deduction with a request id leaves behind, so a retry can be
/// recognised and answered without charging again.
public struct IdempotencyEntry: Sendable, Hashable, Codable {
    public let fingerprint: RequestFingerprint
    public let receipt: DeductionReceipt

    public init(fingerprint: RequestFingerprint, receipt: DeductionReceipt) {
        self.fingerprint = fingerprint
        self.receipt = receipt
    }
}
