import BillingProto
import GRPCCore

/// `payment.v1.PaymentService` as the platform's Payment Service answers it: checks the
/// request, keeps a pending payment, and hands back its pay page.
struct PaymentGRPCService: Payment_V1_PaymentService.SimpleServiceProtocol {
    let ledger: SandboxLedger
    let options: SandboxOptions
    let payPageBase: @Sendable () -> String

    func createPayment(request: Payment_V1_CreatePaymentRequest, context: ServerContext) async throws
        -> Payment_V1_CreatePaymentResponse
    {
        if options.createDelay > .zero { try await Task.sleep(for: options.createDelay) }
        if options.failCreate {
            throw RPCError(code: .unavailable, message: "payment sandbox: failing CreatePayment on purpose (--fail-create)")
        }
        try Self.validate(request)
        let payment = ledger.create(orderId: request.orderID) { id in
            SandboxPayment(
                id: id, orderId: request.orderID, uid: request.uid, userId: request.userID, amountFen: request.amount,
                currency: request.currency, method: request.method, subject: request.subject,
                returnURL: request.returnURL, notifyURL: request.notifyURL, clientIP: request.clientIp)
        }
        return .with {
            $0.paymentID = payment.id
            $0.payURL = "\(payPageBase())/pay/\(payment.id)"
            $0.status = "pending"
        }
    }

    static func validate(_ request: Payment_V1_CreatePaymentRequest) throws {
        func invalid(_ reason: String) -> RPCError { RPCError(code: .invalidArgument, message: reason) }
        guard !request.orderID.isEmpty else { throw invalid("order_id is required") }
        guard !request.uid.isEmpty else { throw invalid("uid is required") }
        guard request.amount > 0 else { throw invalid("amount must be a positive number of fen") }
        guard request.notifyURL.hasPrefix("http://") || request.notifyURL.hasPrefix("https://") else {
            throw invalid("notify_url must be an http(s) URL")
        }
        if request.userID != 0, String(request.userID) != request.uid {
            throw invalid("user_id \(request.userID) does not match uid \(request.uid)")
        }
    }
}
