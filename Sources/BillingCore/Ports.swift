import Foundation

// The seams between the use cases and the outside world. Adapters (PostgreSQL, Redis,
// gRPC) implement these; tests implement them in memory. Every port reports failure as
// a BillingError, so the use cases and transports handle one error type.

public protocol BillingClock: Sendable {
    func now() -> Date
}

public struct SystemClock: BillingClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// Applies deductions durably: a receipt is returned only once the deduction is committed.
public protocol DeductionLedger: Sendable {
    func deduct(_ request: DeductionRequest) async throws(BillingError) -> DeductionReceipt
}

/// Reads balances and quotas from the source of truth. Never creates rows.
public protocol AccountReader: Sendable {
    func account(of userId: String, period: QuotaPeriod) async throws(BillingError) -> AccountState
}

/// A best-effort copy of account state. A miss or a failure is `nil`; writes never fail
/// the caller. Implementations keep an older value from overwriting a newer one.
public protocol AccountCache: Sendable {
    func account(of userId: String, period: QuotaPeriod) async -> AccountState?
    func store(_ state: AccountState, of userId: String, period: QuotaPeriod) async
}

public enum OrderInsertOutcome: Sendable, Hashable {
    case inserted
    /// Another order already has this id (two orders of one user in the same millisecond).
    case duplicateId
    /// The user already has an order under this idempotency key: here it is.
    case existing(RechargeOrder)
}

/// The result of a payment callback: the order as it now stands and what was credited.
public struct Settlement: Sendable, Hashable {
    public let order: RechargeOrder
    public let creditedFen: Fen
    /// The balance after the credit, when one was made.
    public let balanceAfterFen: Fen?

    public init(order: RechargeOrder, creditedFen: Fen, balanceAfterFen: Fen?) {
        self.order = order
        self.creditedFen = creditedFen
        self.balanceAfterFen = balanceAfterFen
    }
}

public protocol RechargeOrderStore: Sendable {
    func insert(_ order: RechargeOrder) async throws(BillingError) -> OrderInsertOutcome
    func order(id: String) async throws(BillingError) -> RechargeOrder?
    func order(userId: String, idempotencyKey: String) async throws(BillingError) -> RechargeOrder?
    /// Records the Payment Service's ids on an order, whatever its status by now.
    func attachPayment(orderId: String, paymentId: String, payURL: String) async throws(BillingError) -> RechargeOrder
    /// Marks a still-pending order failed.
    func markFailed(orderId: String, reason: String) async throws(BillingError)
    /// In one transaction with the order locked: `RechargeOrder.settle`, and the credit.
    func settle(_ callback: PaymentCallback, at instant: Date) async throws(BillingError) -> Settlement
}

public struct PaymentIntent: Sendable, Hashable {
    public let orderId: String
    public let userId: String
    public let amountFen: Fen
    public let currency: String
    public let method: PaymentMethod
    public let subject: String
    public let returnURL: String?
    /// The payer's address as the console's request arrived (the Payment Service's risk
    /// checks use it); nil when unknown.
    public let clientIP: String?

    public init(order: RechargeOrder, clientIP: String? = nil) {
        orderId = order.id
        userId = order.userId
        amountFen = order.amountFen
        currency = order.currency
        method = order.method
        subject = "DevShare balance recharge \(order.amountFen.yuanText) \(order.currency)"
        returnURL = order.returnURL
        self.clientIP = clientIP
    }
}

public struct PaymentSession: Sendable, Hashable {
    public let paymentId: String
    public let payURL: String

    public init(paymentId: String, payURL: String) {
        self.paymentId = paymentId
        self.payURL = payURL
    }
}

/// The Payment Service. Failures and timeouts are `.paymentServiceUnavailable`.
public protocol PaymentGateway: Sendable {
    func createPayment(_ intent: PaymentIntent) async throws(BillingError) -> PaymentSession
}

public protocol LedgerQueries: Sendable {
    func records(of userId: String, filter: RecordFilter, page: PageRequest) async throws(BillingError) -> RecordPage
    /// Usage per service over `range` (all time when nil), only services with records.
    func usage(of userId: String, serviceName: String?, in range: Range<Date>?) async throws(BillingError)
        -> [ServiceUsage]
}

/// Creates the free-quota rows of a period for every known user, leaving existing rows alone.
public protocol QuotaResetter: Sendable {
    func createQuotaRows(for period: QuotaPeriod, catalog: ServiceCatalog) async throws(BillingError)
        -> QuotaResetReport
}
