import Foundation

/// What a refund gives back units of: an applied deduction (by its request id) or a settled
/// hold (by its hold id).
public enum RefundTarget: Sendable, Hashable, Codable {
    case deduction(requestId: String)
    case hold(holdId: String)

    public var kind: String {
        switch self {
        case .deduction: "deduction"
        case .hold: "hold"
        }
    }

    public var id: String {
        switch self {
        case .deduction(let id), .hold(let id): id
        }
    }

    public init(kind: String, id: String) throws(BillingError) {
        switch kind {
        case "deduction": self = .deduction(requestId: id)
        case "hold": self = .hold(holdId: id)
        default: throw .internalFailure("unknown refund target kind \(kind)")
        }
    }

    var notFound: BillingError {
        switch self {
        case .deduction(let id): .deductionNotFound(id)
        case .hold(let id): .holdNotFound(id)
        }
    }
}

/// A refund's target as the batch keys it.
public struct RefundTargetKey: Sendable, Hashable, Codable {
    public let userId: String
    public let target: RefundTarget

    public init(userId: String, target: RefundTarget) {
        self.userId = userId
        self.target = target
    }
}

/// Give back `count` units of an applied deduction or settled hold: paid units first,
/// then free ones. Idempotent by `refundId` (per user).
public struct RefundRequest: Sendable, Hashable, Codable {
    public static let maxReasonLength = 500

    public let refundId: String
    public let userId: String
    public let target: RefundTarget
    public let count: Int64
    public let reason: String

    public init(refundId: String, userId: String, target: RefundTarget, count: Int64, reason: String)
        throws(BillingError)
    {
        self.refundId = try Limits.validateIdentifier(refundId, field: "refund_id", maxLength: Limits.maxRequestIdLength)
        self.userId = try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
        let field = target.kind == "hold" ? "hold_id" : "request_id"
        _ = try Limits.validateIdentifier(target.id, field: field, maxLength: Limits.maxRequestIdLength)
        self.target = target
        guard (1...Limits.maxCallCount).contains(count) else {
            throw .invalidArgument(field: "count", reason: "must be between 1 and \(Limits.maxCallCount)")
        }
        self.count = count
        self.reason = try Self.validReason(reason)
    }

    public var targetKey: RefundTargetKey { RefundTargetKey(userId: userId, target: target) }
    public var key: OperationKey { OperationKey(userId: userId, id: refundId) }

    /// 1–500 bytes of text without control characters: it ends up in the audit log and UIs.
    public static func validReason(_ reason: String) throws(BillingError) -> String {
        guard !reason.isEmpty else { throw .invalidArgument(field: "reason", reason: "is required") }
        guard reason.utf8.count <= maxReasonLength else {
            throw .invalidArgument(field: "reason", reason: "must be at most \(maxReasonLength) bytes")
        }
        guard !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidArgument(field: "reason", reason: "must not contain control characters")
        }
        return reason
    }
}

/// A caller-chosen operation id, unique per user (refunds, adjustments).
public struct OperationKey: Sendable, Hashable, Codable {
    public let userId: String
    public let id: String

    public init(userId: String, id: String) {
        self.userId = userId
        self.id = id
    }
}

/// What a refund gave back.
public struct RefundReceipt: Sendable, Hashable, Codable {
    public let refundId: String
    public let target: RefundTarget
    public let count: Int64
    public let paidRefunded: Int64
    public let freeRefunded: Int64
    /// Free units put back into the current period's quota (0 for a past period's).
    public let freeReturned: Int64
    public let fenReturned: Fen
    public let balanceAfterFen: Fen
    public let recordIds: [Int64]
    public let replayed: Bool

    public init(
        refundId: String, target: RefundTarget, count: Int64, paidRefunded: Int64, freeRefunded: Int64,
        freeReturned: Int64, fenReturned: Fen, balanceAfterFen: Fen, recordIds: [Int64], replayed: Bool
    ) {
        self.refundId = refundId
        self.target = target
        self.count = count
        self.paidRefunded = paidRefunded
        self.freeRefunded = freeRefunded
        self.freeReturned = freeReturned
        self.fenReturned = fenReturned
        self.balanceAfterFen = balanceAfterFen
        self.recordIds = recordIds
        self.replayed = replayed
    }

    func replay() -> RefundReceipt {
        RefundReceipt(
            refundId: refundId, target: target, count: count, paidRefunded: paidRefunded, freeRefunded: freeRefunded,
            freeReturned: freeReturned, fenReturned: fenReturned, balanceAfterFen: balanceAfterFen,
            recordIds: recordIds, replayed: true)
    }
}

/// The mirror of `ExactCharge`: per (user, service), with `A` µfen owed and `F = ⌊A / 10⁶⌋`
/// fen charged (the carry is `A − F × 10⁶`), refunding `units` at `price` lowers `A` by
/// `units × price` and gives back `F − ⌊A' / 10⁶⌋` fen. Computed in 128 bits.
public struct ExactRefund: Sendable, Hashable {
    public let fen: Fen
    public let carryAfterMicroFen: Int64

    init(fen: Fen, carryAfterMicroFen: Int64) {
        self.fen = fen
        self.carryAfterMicroFen = carryAfterMicroFen
    }

    public init(units: Int64, price: UnitPrice, carryMicroFen: Int64) throws(BillingError) {
        guard (0..<UnitPrice.microFenPerFen).contains(carryMicroFen), units >= 0 else {
            throw .internalFailure("refund of \(units) units with carry \(carryMicroFen)")
        }
        let value = UInt128(UInt64(units)) * UInt128(UInt64(price.microFen))
        let carry = UInt128(UInt64(carryMicroFen))
        let perFen = UInt128(UInt64(UnitPrice.microFenPerFen))
        if value <= carry {
            fen = .zero
            carryAfterMicroFen = Int64(carry - value)
        } else {
            let owed = value - carry
            let back = (owed + perFen - 1) / perFen
            guard back <= UInt128(UInt64(Int64.max)) else { throw .amountOutOfRange(field: "count") }
            fen = Fen(Int64(back))
            carryAfterMicroFen = Int64(back * perFen - owed)
        }
    }
}
