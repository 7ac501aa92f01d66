import BillingConfiguration
import BillingCore
import BillingProto
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging

/// The Payment Service client: `payment.v1.PaymentService.CreatePayment` over one HTTP/2
/// connection. Every call carries the configured timeout as its deadline and does not wait
/// for a connection that is down, so a dead or slow Payment Service costs a recharge at
/// most the timeout and answers PAYMENT_SERVICE_UNAVAILABLE.
///
/// The client's connections run in the ServiceGroup (`GRPCClientService`), which
/// stops them after the HTTP and gRPC servers have drained.
///
/// What users see (the 502's message and the order's failure reason) names no host, port
/// or transport error; those details go to the log for operators.
struct GRPCPaymentGateway: PaymentGateway {
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let settings: BillingConfig.PaymentService
    let metrics: BillingMetrics
    let logger: Logger

    init(settings: BillingConfig.PaymentService, metrics: BillingMetrics, logger: Logger) throws {
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        var transport = HTTP2ClientTransport.Posix.Config.defaults
        // The default backoff grows to two minutes; a Payment Service back from a restart
        // should take recharges again within a couple of seconds.
        transport.backoff = .init(initial: .milliseconds(200), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
        client = GRPCClient(
            transport: try .http2NIOPosix(
                target: .dns(host: settings.host, port: settings.port), transportSecurity: .plaintext, config: transport))
    }

    func createPayment(_ intent: PaymentIntent) async throws(BillingError) -> PaymentSession {
        var options = CallOptions.defaults
        options.timeout = .milliseconds(settings.timeoutMilliseconds)
        options.waitForReady = false
        let clock = ContinuousClock()
        let started = clock.now
        let response: Payment_V1_CreatePaymentResponse
        do {
            response = try await Payment_V1_PaymentService.Client(wrapping: client)
                .createPayment(request(for: intent), options: options)
        } catch let error as RPCError {
            metrics.paymentServiceCall(result: Self.result(of: error.code), duration: clock.now - started)
            logger.warning(
                "payment service call failed",
                metadata: [
                    "order": "\(intent.orderId)", "endpoint": "\(settings.host):\(settings.port)",
                    "code": "\(error.code)", "error": "\(error.message)",
                ])
            throw failure(error)
        } catch {
            metrics.paymentServiceCall(result: "unavailable", duration: clock.now - started)
            logger.warning(
                "payment service call failed",
                metadata: ["order": "\(intent.orderId)", "error": "\(String(reflecting: error))"])
            throw .paymentServiceUnavailable("the Payment Service is unavailable")
        }
        metrics.paymentServiceCall(result: "ok", duration: clock.now - started)
        return try Self.session(from: response)
    }

    func request(for intent: PaymentIntent) -> Payment_V1_CreatePaymentRequest {
        .with {
            $0.orderID = intent.orderId
            $0.uid = intent.userId
            // The platform's numeric ids go in user_id too; other ids leave it 0.
            $0.userID = UInt64(intent.userId) ?? 0
            $0.amount = intent.amountFen.value
            $0.currency = intent.currency
            $0.method = intent.method.rawValue
            $0.subject = intent.subject
            $0.returnURL = intent.returnURL ?? settings.defaultReturnURL ?? ""
            $0.notifyURL = settings.notifyURL
            $0.clientIp = intent.clientIP ?? ""
        }
    }

    private static func result(of code: RPCError.Code) -> String {
        switch code {
        case .deadlineExceeded: "timeout"
        case .unavailable: "unavailable"
        default: "refused"
        }
    }

    private func failure(_ error: RPCError) -> BillingError {
        switch error.code {
        case .deadlineExceeded:
            .paymentServiceUnavailable("the Payment Service did not answer within \(settings.timeoutMilliseconds) ms")
        case .unavailable:
            .paymentServiceUnavailable("the Payment Service is unavailable")
        default:
            // The status code only: the Payment Service's own message may carry internals.
            .paymentServiceUnavailable("the Payment Service refused the payment (\(error.code))")
        }
    }

    /// A Payment Service that answers without an id or a usable URL is as good as down:
    /// the order could never be matched or paid.
    static func session(from response: Payment_V1_CreatePaymentResponse) throws(BillingError) -> PaymentSession {
        let id = response.paymentID
        guard !id.isEmpty, id.utf8.count <= 128, !id.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw .paymentServiceUnavailable("the Payment Service answered without a usable payment id")
        }
        let url = response.payURL
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.count <= 2_048 else {
            throw .paymentServiceUnavailable("the Payment Service answered without a usable pay_url")
        }
        return PaymentSession(paymentId: id, payURL: url)
    }
}
