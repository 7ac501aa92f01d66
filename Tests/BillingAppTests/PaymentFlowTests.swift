@testable import BillingApp
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import PaymentSandboxKit
import Testing

@Suite("Recharge through the Payment Service: billing and the payment sandbox end to end", .timeLimit(.minutes(2)))
struct PaymentFlowTests {
    @Test("recharge → pay → balance, with what billing told the Payment Service")
    func rechargePayBalance() async throws {
        try await SandboxedApp.with { env in
            let started = try await env.recharge("10086", yuan: "12.34", headers: ["X-Forwarded-For": "203.0.113.7, 10.0.0.1"])
            #expect(started.status == 200 && started.data?["status"]?.text == "pending")
            #expect(started.data?["amountFen"]?.int64 == 1_234)
            let orderId = try #require(started.data?["orderId"]?.text)
            #expect(orderId.hasPrefix("recharge_10086_"))
            let paymentId = try #require(SandboxedApp.paymentId(started))
            #expect(started.data?["paymentUrl"]?.text == "\(env.sandbox.payPageBase)/pay/\(paymentId)")

            let asked = try #require(env.sandbox.ledger.payment(paymentId))
            #expect(asked.orderId == orderId && asked.amountFen == 1_234 && asked.currency == "CNY")
            #expect(asked.uid == "10086" && asked.userId == 10_086 && asked.method == "alipay")
            #expect(asked.subject.contains("12.34") && asked.clientIP == "203.0.113.7")
            #expect(asked.notifyURL.hasSuffix("/internal/v1/billing/callback"))

            let paid = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed")
            #expect(paid.status == 200)
            #expect(paid.json?["deliveries"]?[0]?["statusCode"]?.int64 == 200)
            #expect(try await env.balanceFen("10086") == 1_234)
            let order = try await env.order("10086", orderId)
            #expect(order.data?["status"]?.text == "success" && order.data?["paymentId"]?.text == paymentId)
            #expect(order.data?["paidAt"]?.text != nil)
            let metrics = try await env.app.send(.get, "/metrics").text
            #expect(metrics.contains(#"billing_payment_service_call_duration_seconds_count{result="ok"} 1"#))
        }
    }

    @Test("a non-numeric user id goes as uid only")
    func textUserId() async throws {
        try await SandboxedApp.with { env in
            let started = try await env.recharge("dev_alice", yuan: "1")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            let payment = try #require(env.sandbox.ledger.payment(paymentId))
            #expect(payment.uid == "dev_alice" && payment.userId == 0)
        }
    }

    @Test("the Pay button's form post settles the payment and shows it paid")
    func payButton() async throws {
        try await SandboxedApp.with { env in
            let started = try await env.recharge("u1", yuan: "3.00")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            // AsyncHTTPClient follows the 303 back to the page, as a browser does.
            let page = try await SandboxedApp.http(.POST, "http://127.0.0.1:\(env.sandbox.httpPort)/pay/\(paymentId)/succeed")
            #expect(page.status == 200)
            #expect(env.sandbox.ledger.payment(paymentId)?.status == .succeeded)
            #expect(try await env.balanceFen("u1") == 300)
        }
    }

    @Test("fail → order failed, nothing credited")
    func failedPayment() async throws {
        try await SandboxedApp.with { env in
            let started = try await env.recharge("u1", yuan: "5")
            let orderId = try #require(started.data?["orderId"]?.text)
            let paymentId = try #require(SandboxedApp.paymentId(started))
            let failed = try await env.sandboxPost("/sandbox/payments/\(paymentId)/fail")
            #expect(failed.status == 200 && failed.json?["deliveries"]?[0]?["statusCode"]?.int64 == 200)
            #expect(try await env.order("u1", orderId).data?["status"]?.text == "failed")
            #expect(try await env.balanceFen("u1") == 0)
        }
    }

    @Test("a success callback after the order was marked failed credits it, once")
    func lateSuccess() async throws {
        try await SandboxedApp.with { env in
            let started = try await env.recharge("u1", yuan: "2")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            _ = try await env.sandboxPost("/sandbox/payments/\(paymentId)/fail")
            _ = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed")
            _ = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed")
            #expect(try await env.balanceFen("u1") == 200)
            let orderId = try #require(started.data?["orderId"]?.text)
            #expect(try await env.order("u1", orderId).data?["status"]?.text == "success")
            // A paid payment cannot be failed afterwards.
            #expect(try await env.sandboxPost("/sandbox/payments/\(paymentId)/fail").status == 409)
        }
    }

    @Test("duplicated and concurrent callbacks credit exactly once")
    func duplicatedCallbacks() async throws {
        var options = SandboxOptions()
        options.callbackCopies = 4
        try await SandboxedApp.with(sandbox: options) { env in
            let started = try await env.recharge("u1", yuan: "7.77")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 {
                    group.addTask { try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed?copies=4").status }
                }
                for try await status in group { #expect(status == 200) }
            }
            let deliveries = env.sandbox.ledger.payment(paymentId)?.deliveries ?? []
            #expect(deliveries.count == 20 && deliveries.allSatisfy { $0.statusCode == 200 })
            #expect(try await env.balanceFen("u1") == 777)
        }
    }

    @Test("a callback with another amount or a forged signature is refused; nothing is credited")
    func refusedCallbacks() async throws {
        try await SandboxedApp.with { env in
            let started = try await env.recharge("u1", yuan: "10")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            let mismatch = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed?amount_fen=100000")
            #expect(mismatch.json?["deliveries"]?[0]?["statusCode"]?.int64 == 400)
            #expect(mismatch.json?["deliveries"]?[0]?["billingAnswer"]?.text?.contains("AMOUNT_MISMATCH") == true)
            let forged = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed?forge_signature=true")
            #expect(forged.json?["deliveries"]?[0]?["statusCode"]?.int64 == 401)
            #expect(try await env.balanceFen("u1") == 0)
            let orderId = try #require(started.data?["orderId"]?.text)
            #expect(try await env.order("u1", orderId).data?["status"]?.text == "pending")
        }
    }

    @Test("a delayed callback arrives later and credits then")
    func delayedCallback() async throws {
        var options = SandboxOptions()
        let delay = Duration.seconds(1)
        options.callbackDelay = delay
        try await SandboxedApp.with(sandbox: options) { env in
            let started = try await env.recharge("u1", yuan: "1")
            let paymentId = try #require(SandboxedApp.paymentId(started))
            let scheduledAt = ContinuousClock.now
            let scheduled = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed")
            #expect(scheduled.status == 202)
            let early = try await env.balanceFen("u1")
            // Only a read that ended before the delay ran out is sure to precede the callback (a
            // loaded machine, running every suite at once, can take longer than that to read).
            if ContinuousClock.now - scheduledAt < delay { #expect(early == 0) }
            var balance: Int64? = 0
            for _ in 0..<100 where balance != 100 {
                try await Task.sleep(for: .milliseconds(50))
                balance = try await env.balanceFen("u1")
            }
            #expect(balance == 100)
        }
    }

    @Test("the Payment Service stopped → 502 PAYMENT_SERVICE_UNAVAILABLE and the order is failed")
    func sandboxStopped() async throws {
        try await SandboxedApp.with { env in
            #expect(try await env.recharge("u1", yuan: "1").status == 200)
            await env.sandbox.stop()
            let clock = ContinuousClock()
            let started = clock.now
            let reply = try await env.recharge("u1", yuan: "2")
            #expect(reply.status == 502 && reply.errorCode == "PAYMENT_SERVICE_UNAVAILABLE")
            #expect(clock.now - started < .seconds(5))
            let failed = try await env.app.parts.pool.withConnection { connection in
                try connection.query(
                    "SELECT status, failure_reason FROM recharge_order WHERE user_id = 'u1' AND amount_fen = 200"
                ).all.map { (try $0.string(0), $0.optionalString(1)) }
            }
            #expect(failed.count == 1 && failed.first?.0 == "failed")
            #expect(failed.first?.1?.contains("Payment Service") == true)
            // Users see the order: no host, port or transport error in its reason or the answer.
            for text in [failed.first?.1 ?? "", reply.text] {
                #expect(!text.contains("127.0.0.1") && !text.contains(":\(env.sandbox.grpcPort)"), "\(text)")
            }
        }
    }

    @Test("a Payment Service slower than the timeout → 502 within the timeout, order failed")
    func slowPaymentService() async throws {
        var options = SandboxOptions()
        options.createDelay = .seconds(3)
        try await SandboxedApp.with(sandbox: options, timeoutMilliseconds: 400) { env in
            let clock = ContinuousClock()
            let started = clock.now
            let reply = try await env.recharge("u1", yuan: "3")
            let elapsed = clock.now - started
            #expect(reply.status == 502 && reply.errorCode == "PAYMENT_SERVICE_UNAVAILABLE")
            #expect(reply.json?["error"]?["message"]?.text?.contains("did not answer within 400 ms") == true)
            let metrics = try await env.app.send(.get, "/metrics").text
            #expect(metrics.contains(#"billing_payment_service_call_duration_seconds_count{result="timeout"} 1"#))
            // Not the service's 3 s: the call gave up at its timeout. The rest (the order written
            // before and after, the HTTP round trip) took over a second once in a full parallel
            // `make test` on two cores, so the bound is what the test is about, not a latency.
            #expect(elapsed >= .milliseconds(350) && elapsed < .milliseconds(2_500), "took \(elapsed)")
            let order = try await env.app.parts.pool.withConnection { connection in
                try connection.query("SELECT status FROM recharge_order WHERE user_id = 'u1'")[0].string(0)
            }
            #expect(order == "failed")
        }
    }

    @Test("a Payment Service that refuses → 502 and the order is failed with its reason")
    func refusingPaymentService() async throws {
        var options = SandboxOptions()
        options.failCreate = true
        try await SandboxedApp.with(sandbox: options) { env in
            let reply = try await env.recharge("u1", yuan: "3")
            #expect(reply.status == 502 && reply.errorCode == "PAYMENT_SERVICE_UNAVAILABLE")
            let reason = try await env.app.parts.pool.withConnection { connection in
                try connection.query("SELECT failure_reason FROM recharge_order WHERE user_id = 'u1'")[0].optionalString(0)
            }
            // The Payment Service's own message may carry its internals: only its status code is kept.
            #expect(reason?.contains("Payment Service") == true)
            #expect(reason?.contains("fail-create") == false)
        }
    }

    @Test("the same Idempotency-Key returns the same order and payment; same-instant orders stay distinct")
    func orderIdentity() async throws {
        try await SandboxedApp.with { env in
            let first = try await env.recharge("u1", yuan: "4", headers: ["Idempotency-Key": "k-1"])
            let again = try await env.recharge("u1", yuan: "4", headers: ["Idempotency-Key": "k-1"])
            #expect(first.data?["orderId"]?.text == again.data?["orderId"]?.text)
            #expect(first.data?["paymentUrl"]?.text == again.data?["paymentUrl"]?.text)
            let conflict = try await env.recharge("u1", yuan: "5", headers: ["Idempotency-Key": "k-1"])
            #expect(conflict.status == 409 && conflict.errorCode == "IDEMPOTENCY_CONFLICT")

            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<12 { group.addTask { try await env.recharge("u2", yuan: "1").data?["orderId"]?.text } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(Set(ids.compactMap { $0 }).count == 12)
            #expect(env.sandbox.ledger.all().count == 13)
        }
    }

    @Test("gRPC Recharge reaches the same Payment Service; the callback credits it")
    func grpcRecharge() async throws {
        try await SandboxedApp.with { env in
            let server = try #require(env.app.parts.grpcServer)
            let address = try #require(try await server.listeningAddress?.ipv4)
            let response = try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .ipv4(address: address.host, port: address.port), transportSecurity: .plaintext)
            ) { client in
                try await Billing_V1_BillingService.Client(wrapping: client).recharge(
                    .with {
                        $0.userID = "g1"
                        $0.amountFen = 250
                        $0.paymentMethod = "wechat"
                    }, metadata: ["x-forwarded-for": "198.51.100.4"])
            }
            #expect(response.status == "pending" && response.amount == "2.50")
            let paymentId = try #require(response.paymentURL.split(separator: "/").last.map(String.init))
            #expect(env.sandbox.ledger.payment(paymentId)?.clientIP == "198.51.100.4")
            _ = try await env.sandboxPost("/sandbox/payments/\(paymentId)/succeed")
            #expect(try await env.balanceFen("g1") == 250)
            // Counted below the transports: a gRPC recharge counts like an HTTP one, and the
            // RPC itself is counted and timed like an HTTP route.
            let metrics = try await env.app.send(.get, "/metrics").text
            #expect(metrics.contains(#"billing_recharges_total{outcome="created"} 1"#))
            #expect(metrics.contains(#"billing_callbacks_total{credited="true"} 1"#))
            #expect(metrics.contains(#"grpc_requests_total{method="billing.v1.BillingService/Recharge",code="ok"} 1"#))
            #expect(metrics.contains(#"grpc_request_duration_seconds_count{method="billing.v1.BillingService/Recharge"} 1"#))
        }
    }
}
