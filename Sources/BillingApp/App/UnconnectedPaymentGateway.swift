import BillingCore

/// Stands in until the Payment Service client lands (issue #7): every recharge is
/// answered PAYMENT_SERVICE_UNAVAILABLE and its order is marked failed, which is exactly
/// what happens when the real Payment Service is down. A signed success callback still
/// credits such an order.
struct UnconnectedPaymentGateway: PaymentGateway {
    func createPayment(_ intent: PaymentIntent) async throws(BillingError) -> PaymentSession {
        throw .paymentServiceUnavailable("no Payment Service client is configured in this build")
    }
}
