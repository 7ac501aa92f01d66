import Foundation

/// How the user pays the Payment Service.
public enum PaymentMethod: String, Sendable, Hashable, Codable, CaseIterable {
    case alipay, wechat, stripe

    /// `alipay`, `wechat` or `stripe` in any case; anything else is INVALID_ARGUMENT.
    public init(text: String) throws(BillingError) {
        guard let method = PaymentMethod(rawValue: text.lowercased()) else {
            throw .invalidArgument(field: "payment_method", reason: "must be one of alipay, wechat, stripe")
        }
        self = method
    }
}

/// A recharge order's state: pending, then success, failed or expired.
public enum RechargeStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, success, failed, expired
}

/// A validated top-up request from the console.
public struct RechargeRequest: Sendable, Hashable {
    /// Balances are kept in fen of one currency; the platform bills in CNY only.
    public static let supportedCurrencies: Set<String> = ["CNY"]
    public static let maxReturnURLLength = 2048

    public let userId: String
    public let amountFen: Fen
    public let method: PaymentMethod
    public let currency: String
    public let returnURL: String?

    /// Validates the user id, the amount (1 fen … 1,000,000.00 yuan), the currency (CNY) and
    /// an optional http(s) return URL of at most 2,048 characters.
    public init(
        userId: String, amountFen: Fen, method: PaymentMethod, currency: String = "CNY", returnURL: String? = nil
    ) throws(BillingError) {
        self.userId = try Limits.validateIdentifier(userId, field: "user_id", maxLength: Limits.maxUserIdLength)
        self.amountFen = try amountFen.validated(in: Limits.minRechargeFen...Limits.maxRechargeFen, field: "amount")
        self.method = method
        let currency = currency.uppercased()
        guard Self.supportedCurrencies.contains(currency) else {
            throw .invalidArgument(field: "currency", reason: "only CNY is supported")
        }
        self.currency = currency
        if let returnURL {
            guard returnURL.utf8.count <= Self.maxReturnURLLength,
                returnURL.hasPrefix("http://") || returnURL.hasPrefix("https://")
            else {
                throw .invalidArgument(field: "return_url", reason: "must be an http(s) URL of at most 2048 characters")
            }
        }
        self.returnURL = returnURL
    }
}

/// A recharge order and the rules of its life: pending → success | failed | expired,
/// and a verified success callback wins over failed or expired (the money was paid).
public struct RechargeOrder: Sendable, Hashable, Codable {
    public let id: String
    public let userId: String
    public let amountFen: Fen
    public let method: PaymentMethod
    public let currency: String
    public let returnURL: String?
    public let idempotencyKey: String?
    public var status: RechargeStatus
    public var paymentId: String?
    public var payURL: String?
    public var failureReason: String?
    public let createdAt: Date
    public var paidAt: Date?

    /// A new pending order for `request`.
    public init(
        id: String, request: RechargeRequest, idempotencyKey: String?, createdAt: Date
    ) {
        self.id = id
        self.userId = request.userId
        self.amountFen = request.amountFen
        self.method = request.method
        self.currency = request.currency
        self.returnURL = request.returnURL
        self.idempotencyKey = idempotencyKey
        self.status = .pending
        self.createdAt = createdAt
    }

    /// `recharge_{user_id}_{unix milliseconds}`; the store makes it unique by moving the
    /// timestamp on when two orders of one user meet in the same millisecond.
    public static func makeId(userId: String, at instant: Date, offsetMilliseconds: Int64 = 0) -> String {
        let milliseconds = Int64((instant.timeIntervalSince1970 * 1000).rounded(.down)) + offsetMilliseconds
        return "recharge_\(userId)_\(milliseconds)"
    }

    /// Applies a payment callback. Returns the amount to credit (zero when nothing is to
    /// be credited); throws when the callback must be refused and nothing may change.
    public mutating func settle(_ callback: PaymentCallback, at instant: Date) throws(BillingError) -> Fen {
        guard callback.amountFen == amountFen else {
            throw .amountMismatch(expectedFen: amountFen.value, receivedFen: callback.amountFen.value)
        }
        if let known = paymentId, let reported = callback.paymentId, known != reported {
            throw .paymentMismatch("payment id '\(reported)' does not belong to order '\(id)'")
        }
        switch (callback.outcome, status) {
        case (.succeeded, .success):
            return .zero
        case (.succeeded, .pending), (.succeeded, .failed), (.succeeded, .expired):
            status = .success
            paidAt = instant
            failureReason = nil
            if paymentId == nil { paymentId = callback.paymentId }
            return amountFen
        case (.failed, .pending), (.closed, .pending):
            status = .failed
            failureReason = callback.outcome == .closed ? "payment closed" : "payment failed"
            return .zero
        case (.failed, _), (.closed, _):
            // A failure report never undoes a credit and never revives a finished order.
            return .zero
        }
    }

    /// Moves a pending order to failed with `reason` (shown to the user); a finished order
    /// is left alone.
    public mutating func markFailed(reason: String) {
        guard status == .pending else { return }
        status = .failed
        failureReason = reason
    }

    /// Moves a pending order to expired; a finished order is left alone.
    public mutating func expire() {
        guard status == .pending else { return }
        status = .expired
    }
}

/// The Payment Service's report on one payment, already authenticated by the transport.
public struct PaymentCallback: Sendable, Hashable {
    /// What the Payment Service reports for a payment.
    public enum Outcome: Sendable, Hashable {
        case succeeded, failed, closed

        /// SUCCESS (or SUCCEEDED, PAID), FAILED (FAIL), CLOSED (CANCELLED); any case.
        public init(status: String) throws(BillingError) {
            switch status.uppercased() {
            case "SUCCESS", "SUCCEEDED", "PAID": self = .succeeded
            case "FAILED", "FAIL": self = .failed
            case "CLOSED", "CANCELLED", "CANCELED": self = .closed
            default: throw .invalidArgument(field: "status", reason: "must be SUCCESS, FAILED or CLOSED")
            }
        }
    }

    public let orderId: String?
    public let paymentId: String?
    public let amountFen: Fen
    public let outcome: Outcome

    /// Requires an order id or a payment id, and a positive amount.
    public init(orderId: String?, paymentId: String?, amountFen: Fen, outcome: Outcome) throws(BillingError) {
        let orderId = orderId.flatMap { $0.isEmpty ? nil : $0 }
        let paymentId = paymentId.flatMap { $0.isEmpty ? nil : $0 }
        guard orderId != nil || paymentId != nil else {
            throw .invalidArgument(field: "order_id", reason: "order_id or payment_id is required")
        }
        guard amountFen.isPositive else { throw .amountNotPositive(field: "amount") }
        self.orderId = orderId
        self.paymentId = paymentId
        self.amountFen = amountFen
        self.outcome = outcome
    }
}

/// The payer's IP address as passed on by the gateway in `X-Forwarded-For` (the first,
/// client-most entry). Anything that is not an IPv4/IPv6 literal is dropped rather than
/// forwarded to the Payment Service.
public enum ClientAddress {
    /// The first `X-Forwarded-For` entry when it is an IP literal, else nil.
    public static func fromForwardedFor(_ header: String?) -> String? {
        guard let first = header?.split(separator: ",", maxSplits: 1).first else { return nil }
        let address = first.trimmingCharacters(in: .whitespaces)
        guard !address.isEmpty, address.utf8.count <= 45,
            address.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" })
        else { return nil }
        return address
    }
}
