import AsyncHTTPClient
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PaymentSandboxKit
import Testing

@Suite("The payment sandbox as a Payment Service", .timeLimit(.minutes(2)))
struct PaymentSandboxTests {
    static func options() -> SandboxOptions {
        var options = SandboxOptions()
        options.grpcPort = 0
        options.httpPort = 0
        options.callbackRetries = 2
        // AsyncHTTPClient keeps trying to connect until the timeout: keep refused attempts short.
        options.callbackTimeout = .milliseconds(300)
        return options
    }

    static func request(order: String, amount: Int64 = 100, notify: String = "http://127.0.0.1:1/callback")
        -> Payment_V1_CreatePaymentRequest
    {
        .with {
            $0.orderID = order
            $0.uid = "42"
            $0.userID = 42
            $0.amount = amount
            $0.currency = "CNY"
            $0.method = "alipay"
            $0.subject = "Recharge <script>alert(1)</script>"
            $0.notifyURL = notify
            $0.returnURL = "javascript:alert(1)"
        }
    }

    func withClient(
        _ sandbox: PaymentSandbox.Running,
        _ body: (Payment_V1_PaymentService.Client<HTTP2ClientTransport.Posix>) async throws -> Void
    ) async throws {
        try await withGRPCClient(
            transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: sandbox.grpcPort), transportSecurity: .plaintext)
        ) { client in
            try await body(Payment_V1_PaymentService.Client(wrapping: client))
        }
    }

    @Test("CreatePayment checks its request and is idempotent per order id")
    func createPayment() async throws {
        try await PaymentSandbox.withRunning(options: Self.options()) { sandbox in
            try await withClient(sandbox) { client in
                let first = try await client.createPayment(Self.request(order: "recharge_42_1"))
                let again = try await client.createPayment(Self.request(order: "recharge_42_1"))
                #expect(first.paymentID == again.paymentID && first.status == "pending")
                #expect(first.payURL == "http://127.0.0.1:\(sandbox.httpPort)/pay/\(first.paymentID)")

                for bad in [
                    Self.request(order: "recharge_42_2", amount: 0),
                    Self.request(order: ""),
                    Self.request(order: "recharge_42_3", notify: "ftp://x"),
                    { var request = Self.request(order: "recharge_42_4"); request.userID = 7; return request }(),
                ] {
                    do {
                        _ = try await client.createPayment(bad)
                        Issue.record("accepted a bad request for order '\(bad.orderID)'")
                    } catch let error as RPCError {
                        #expect(error.code == .invalidArgument)
                    }
                }
                #expect(sandbox.ledger.all().count == 1)
            }
        }
    }

    @Test("the pay page escapes what billing sent and links only http(s) return URLs")
    func payPageEscapes() async throws {
        try await PaymentSandbox.withRunning(options: Self.options()) { sandbox in
            try await withClient(sandbox) { client in
                let payment = try await client.createPayment(Self.request(order: "recharge_42_9"))
                var request = HTTPClientRequest(url: payment.payURL)
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let page = String(buffer: try await response.body.collect(upTo: 1 << 20))
                #expect(response.status.code == 200)
                #expect(!page.contains("<script>alert") && page.contains("&lt;script&gt;"))
                #expect(!page.contains("javascript:") && page.contains("id=\"pay\""))
            }
        }
    }

    @Test("a callback nobody answers is retried, and every attempt is recorded")
    func callbackRetries() async throws {
        try await PaymentSandbox.withRunning(options: Self.options()) { sandbox in
            try await withClient(sandbox) { client in
                let payment = try await client.createPayment(Self.request(order: "recharge_42_5"))
                let result = try await SandboxedApp.http(
                    .POST, "http://127.0.0.1:\(sandbox.httpPort)/sandbox/payments/\(payment.paymentID)/succeed")
                #expect(result.status == 200)
                let deliveries = sandbox.ledger.payment(payment.paymentID)?.deliveries ?? []
                #expect(deliveries.count == 3 && deliveries.allSatisfy { $0.statusCode == nil })
            }
        }
    }

    @Test("the script API answers bad requests with a code")
    func scriptErrors() async throws {
        try await PaymentSandbox.withRunning(options: Self.options()) { sandbox in
            let base = "http://127.0.0.1:\(sandbox.httpPort)/sandbox/payments"
            let missing = try await SandboxedApp.http(.POST, "\(base)/pay_nope/succeed")
            #expect(missing.status == 404 && missing.json?["error"]?["code"]?.text == "NOT_FOUND")
            try await withClient(sandbox) { client in
                let payment = try await client.createPayment(Self.request(order: "recharge_42_6"))
                let action = try await SandboxedApp.http(.POST, "\(base)/\(payment.paymentID)/refund")
                #expect(action.status == 404)
                let amount = try await SandboxedApp.http(.POST, "\(base)/\(payment.paymentID)/succeed?amount_fen=abc")
                #expect(amount.status == 400 && amount.json?["error"]?["code"]?.text == "INVALID_ARGUMENT")
                let copies = try await SandboxedApp.http(.POST, "\(base)/\(payment.paymentID)/succeed?copies=0")
                #expect(copies.status == 400)
                #expect(sandbox.ledger.payment(payment.paymentID)?.status == .pending)
            }
        }
    }
}
