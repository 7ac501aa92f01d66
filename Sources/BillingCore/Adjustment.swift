import Foundation

/// An operator's credit (positive) or debit (negative) of a user's balance, with a reason.
/// Idempotent by `adjustmentId` (per user).
public struct AdjustmentRequest: Sendable, Hashable, Codable {
    /// |amount| ≤ 10¹³ fen (ledger-features.md, bounds).
    public static let maxAmountFen: Int64 = 10_000_000_000_000

    public let adjustmentId: String
    public let userId: String
    public let amountFen: Fen
    public let reason: String
    public let operatorName: String

    public init(adjustmentId: String, userId: String, amountFen: Int64, reason: String, operatorName: String)
        throws(BillingError)
    {
        self.adjustmentId = try Limits.validateIdentifier(
            adjustmentId, field: "adjustment_id", maxLength: Limits.maxRequestIdLength)
        self.userId = try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
        guard amountFen != 0 else { throw .invalidArgument(field: "amount_fen", reason: "must not be zero") }
        guard amountFen >= -Self.maxAmountFen, amountFen <= Self.maxAmountFen else {
            throw .amountOutOfRange(field: "amount_fen")
        }
        self.amountFen = Fen(amountFen)
        self.reason = try RefundRequest.validReason(reason)
        self.operatorName = operatorName
    }

    public var key: OperationKey { OperationKey(userId: userId, id: adjustmentId) }

    /// Whether a retry asks for the same adjustment.
    func matches(_ other: AdjustmentRequest) -> Bool { amountFen == other.amountFen && reason == other.reason }
}

/// What an adjustment did.
public struct AdjustmentReceipt: Sendable, Hashable, Codable {
    public let adjustmentId: String
    public let amountFen: Fen
    public let balanceAfterFen: Fen
    public let availableAfterFen: Fen
    public let recordId: Int64
    public let replayed: Bool

    public init(
        adjustmentId: String, amountFen: Fen, balanceAfterFen: Fen, availableAfterFen: Fen, recordId: Int64,
        replayed: Bool
    ) {
        self.adjustmentId = adjustmentId
        self.amountFen = amountFen
        self.balanceAfterFen = balanceAfterFen
        self.availableAfterFen = availableAfterFen
        self.recordId = recordId
        self.replayed = replayed
    }
}

/// A stored adjustment: the request (to tell a retry from a conflict) and its answer.
public struct StoredAdjustment: Sendable, Hashable, Codable {
    public let request: AdjustmentRequest
    public let receipt: AdjustmentReceipt

    public init(request: AdjustmentRequest, receipt: AdjustmentReceipt) {
        self.request = request
        self.receipt = receipt
    }
}

/// A stored refund: its target and count (to tell a retry from a conflict) and its answer.
public struct StoredRefund: Sendable, Hashable, Codable {
    public let request: RefundRequest
    public let receipt: RefundReceipt

    public init(request: RefundRequest, receipt: RefundReceipt) {
        self.request = request
        self.receipt = receipt
    }
}

/// Units already refunded of one target, per bucket.
public struct RefundedUnits: Sendable, Hashable, Codable {
    public var paid: Int64
    public var free: Int64

    public init(paid: Int64 = 0, free: Int64 = 0) {
        self.paid = paid
        self.free = free
    }
}
