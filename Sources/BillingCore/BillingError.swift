/// The one error type of the billing domain. Every case has a stable UPPER_SNAKE `code`
/// that clients may depend on, and a `kind` from which each transport derives its status
/// (HTTP and gRPC map `kind` once each, in their own modules).
public enum BillingError: Error, Sendable, Hashable {
    case invalidArgument(field: String, reason: String)
    case amountEmpty(field: String)
    case amountMalformed(field: String)
    case amountTooPrecise(field: String)
    case amountNotPositive(field: String)
    case amountOutOfRange(field: String)
    case unknownService(String)
    case insufficientBalance(requiredFen: Int64, availableFen: Int64)
    case idempotencyConflict(requestId: String)
    case unauthenticated(String)
    case forbidden(String)
    case notFound(String)
    case orderNotFound(String)
    case amountMismatch(expectedFen: Int64, receivedFen: Int64)
    case paymentMismatch(String)
    case invalidConfiguration(key: String, reason: String)
    case unavailable(String)
    case paymentServiceUnavailable(String)
    case overloaded(String)
    /// An operator call without the operator's name (X-Operator).
    case operatorRequired
    /// A user's price override whose window meets another one of the same service.
    case priceOverlap(String)
    case holdNotFound(String)
    case deductionNotFound(String)
    case spendCapReached(capFen: Int64, spentFen: Int64)
    /// A request over a route's limits (items or bytes): refused whole.
    case tooLarge(String)
    case refundExceedsCharge(String)
    case holdAlreadySettled(String)
    case holdVoided(String)
    case holdExpired(String)
    /// A broken invariant inside the service: never caused by input, always a bug or corruption.
    case internalFailure(String)

    /// How a transport should classify the error.
    public enum Kind: Sendable, Hashable {
        case invalidInput
        case unauthenticated
        case forbidden
        case notFound
        case conflict
        case insufficientFunds
        case unavailable
        case upstreamUnavailable
        case internalFailure
        case tooLarge
    }

    public var code: String {
        switch self {
        case .invalidArgument: "INVALID_ARGUMENT"
        case .amountEmpty: "AMOUNT_EMPTY"
        case .amountMalformed: "AMOUNT_MALFORMED"
        case .amountTooPrecise: "AMOUNT_TOO_PRECISE"
        case .amountNotPositive: "AMOUNT_NOT_POSITIVE"
        case .amountOutOfRange: "AMOUNT_OUT_OF_RANGE"
        case .unknownService: "UNKNOWN_SERVICE"
        case .insufficientBalance: "INSUFFICIENT_BALANCE"
        case .idempotencyConflict: "IDEMPOTENCY_CONFLICT"
        case .unauthenticated: "UNAUTHENTICATED"
        case .forbidden: "FORBIDDEN"
        case .notFound: "NOT_FOUND"
        case .orderNotFound: "ORDER_NOT_FOUND"
        case .amountMismatch: "AMOUNT_MISMATCH"
        case .paymentMismatch: "PAYMENT_MISMATCH"
        case .invalidConfiguration: "INVALID_CONFIGURATION"
        case .unavailable: "UNAVAILABLE"
        case .paymentServiceUnavailable: "PAYMENT_SERVICE_UNAVAILABLE"
        case .overloaded: "OVERLOADED"
        case .operatorRequired: "OPERATOR_REQUIRED"
        case .priceOverlap: "PRICE_OVERLAP"
        case .holdNotFound: "HOLD_NOT_FOUND"
        case .deductionNotFound: "DEDUCTION_NOT_FOUND"
        case .spendCapReached: "SPEND_CAP_REACHED"
        case .tooLarge: "PAYLOAD_TOO_LARGE"
        case .refundExceedsCharge: "REFUND_EXCEEDS_CHARGE"
        case .holdAlreadySettled: "HOLD_ALREADY_SETTLED"
        case .holdVoided: "HOLD_VOIDED"
        case .holdExpired: "HOLD_EXPIRED"
        case .internalFailure: "INTERNAL"
        }
    }

    public var kind: Kind {
        switch self {
        case .invalidArgument, .amountEmpty, .amountMalformed, .amountTooPrecise,
            .amountNotPositive, .amountOutOfRange, .unknownService, .amountMismatch,
            .paymentMismatch, .invalidConfiguration, .operatorRequired:
            .invalidInput
        case .unauthenticated: .unauthenticated
        case .forbidden: .forbidden
        case .notFound, .orderNotFound, .holdNotFound, .deductionNotFound: .notFound
        case .idempotencyConflict, .priceOverlap, .holdAlreadySettled, .holdVoided, .holdExpired,
            .refundExceedsCharge:
            .conflict
        case .insufficientBalance, .spendCapReached: .insufficientFunds
        case .unavailable, .overloaded: .unavailable
        case .paymentServiceUnavailable: .upstreamUnavailable
        case .internalFailure: .internalFailure
        case .tooLarge: .tooLarge
        }
    }

    /// Human text safe to show a client: it never carries SQL, stack traces or secrets.
    public var message: String {
        switch self {
        case .invalidArgument(let field, let reason): "\(field): \(reason)"
        case .amountEmpty(let field): "\(field): the amount is empty"
        case .amountMalformed(let field):
            "\(field): the amount must be a plain decimal number such as 12.34"
        case .amountTooPrecise(let field): "\(field): at most two decimal places (fen) are allowed"
        case .amountNotPositive(let field): "\(field): the amount must be greater than zero"
        case .amountOutOfRange(let field): "\(field): the amount is out of range"
        case .unknownService(let name): "unknown service '\(name)'"
        case .insufficientBalance(let required, let available):
            "insufficient balance: the charge needs \(Fen(required).yuanText) yuan, the balance is \(Fen(available).yuanText) yuan"
        case .idempotencyConflict(let requestId):
            "request_id '\(requestId)' was already used with different parameters"
        case .unauthenticated(let why): why
        case .forbidden(let why): why
        case .notFound(let what): "\(what) not found"
        case .orderNotFound(let id): "recharge order '\(id)' not found"
        case .amountMismatch(let expected, let received):
            "amount \(Fen(received).yuanText) does not match the order amount \(Fen(expected).yuanText)"
        case .paymentMismatch(let why): why
        case .invalidConfiguration(let key, let reason): "configuration key '\(key)': \(reason)"
        case .unavailable(let why): why
        case .paymentServiceUnavailable(let why): "payment service unavailable: \(why)"
        case .overloaded(let why): why
        case .operatorRequired: "X-Operator: operator calls name the operator (1–128 printable ASCII characters)"
        case .priceOverlap(let why): why
        case .holdNotFound(let id): "hold '\(id)' not found"
        case .deductionNotFound(let id): "no applied deduction with request_id '\(id)'"
        case .tooLarge(let why): why
        case .spendCapReached(let cap, let spent):
            "spend cap reached: \(Fen(spent).yuanText) of the monthly cap of \(Fen(cap).yuanText) yuan spent"
        case .refundExceedsCharge(let why): why
        case .holdAlreadySettled(let id): "hold '\(id)' is already settled (with another count, or a void came after it)"
        case .holdVoided(let id): "hold '\(id)' was voided"
        case .holdExpired(let id): "hold '\(id)' expired; charge with a plain deduction"
        case .internalFailure: "internal error"
        }
    }
}

extension BillingError: CustomStringConvertible {
    public var description: String { "\(code): \(message)" }
}

extension BillingError: CustomDebugStringConvertible {
    /// For logs only: carries the detail an `internalFailure` keeps from clients.
    public var debugDescription: String {
        if case .internalFailure(let detail) = self { return "INTERNAL: \(detail)" }
        return description
    }
}
