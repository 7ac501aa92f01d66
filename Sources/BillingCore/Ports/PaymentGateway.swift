/// What the Payment Service is asked to collect for one recharge order.
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

    /// The payment of `order`, with the subject the console's user sees on the pay page.
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

/// The Payment Service's answer: its payment id and the page where the user pays.
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
