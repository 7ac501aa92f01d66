import Foundation

/// What inserting a recharge order did.
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

/// Recharge orders and the credits they bring, durably.
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
