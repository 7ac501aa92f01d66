@testable import BillingApp
import BillingConfiguration
import BillingCore
import BillingProto
import CallbackSigning
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// Regression tests for the review's findings: each failed (or crashed the process)
/// before its fix.
@Suite("Hardening: hostile input never stops the server, identities and tokens stay apart", .timeLimit(.minutes(2)))
struct HardeningTests {
    static let extremeTimestamps = [
        "-9223372036854775808", "9223372036854775807", "-1", "0", "99999999999999999999", "+5", " 12", "1e9", "",
    ]

    @Test("a signature timestamp at the ends of Int64 is refused, not trapped on", arguments: extremeTimestamps)
    func extremeTimestamp(t: String) throws {
        let signature = CallbackSignature(secret: "s3cret-s3cret-s3cret", windowSeconds: 300)
        let body = Array(#"{"order_id":"x"}"#.utf8)
        #expect(throws: BillingError.self) {
            try signature.verify(header: "t=\(t),v1=\(String(repeating: "0", count: 64))", body: body, now: Date())
        }
        #expect(throws: BillingError.self) {
            try signature.verify(header: "t=\(t),v1=\(String(repeating: "0", count: 64))", body: body, now: .distantPast)
        }
    }

    @Test("a window setting out of range cannot make verification trap")
    func windowClamped() {
        #expect(CallbackSignature(secret: "x", windowSeconds: -5).windowSeconds == 0)
        #expect(CallbackSignature(secret: "x", windowSeconds: .max).windowSeconds == CallbackSignature.maxWindowSeconds)
    }

    @Test("over a real socket, hostile signature headers get 401 and the server stays up")
    func hostileCallbacksOverSocket() async throws {
        try await TestApp.with(.live) { app in
            let body = #"{"order_id": "recharge_u1_1", "amount_fen": 100, "status": "SUCCESS"}"#
            for t in Self.extremeTimestamps {
                let reply = try await app.send(
                    .post, "/internal/v1/billing/callback", json: body,
                    headers: ["X-Billing-Signature": "t=\(t),v1=\(String(repeating: "a", count: 64))"])
                #expect(reply.status == 401 && reply.errorCode == "UNAUTHENTICATED", "t=\(t): \(reply.text)")
            }
            #expect(try await app.send(.get, "/health").status == 200)
        }
    }

    @Test("a gateway token never settles a payment; the Payment Service's token does (HTTP)")
    func gatewayTokenCannotSettle() async throws {
        try await TestApp.with { app in
            let id = try await app.failedOrder("h1", amountFen: 500)
            let callback = #"{"order_id": "\#(id)", "amount_fen": 500, "status": "SUCCESS"}"#
            let byGateway = try await app.send(
                .post, "/internal/v1/billing/callback", json: callback,
                headers: ["Authorization": "Bearer \(TestApp.internalToken)"])
            #expect(byGateway.status == 401 && byGateway.errorCode == "UNAUTHENTICATED")
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=h1").data?["balanceFen"]?.int64 == 0)

            let byPaymentService = try await app.send(
                .post, "/internal/v1/billing/callback", json: callback,
                headers: ["Authorization": "Bearer \(TestApp.paymentToken)"])
            #expect(byPaymentService.status == 200)
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=h1").data?["balanceFen"]?.int64 == 500)
            // And the Payment Service's token is no gateway token.
            let deduct = try await app.send(
                .post, "/internal/v1/billing/deduct", json: #"{"user_id": "h1", "service_name": "payment", "count": 1}"#,
                headers: ["Authorization": "Bearer \(TestApp.paymentToken)"])
            #expect(deduct.status == 401)
        }
    }

    @Test("gRPC: RechargeCallback takes the Payment Service's token only; checks take the gateway's only")
    func grpcTokensApart() async throws {
        try await TestApp.with { app in
            try await Self.withClients(app) { gateway, _ in
                let callback = Billing_V1_RechargeCallbackRequest.with {
                    $0.orderID = "missing"
                    $0.amountFen = 1
                    $0.status = "SUCCESS"
                }
                #expect(
                    await Self.code { _ = try await gateway.rechargeCallback(callback, metadata: GRPCTests.bearer) }
                        == .unauthenticated)
                #expect(
                    await Self.code { _ = try await gateway.rechargeCallback(callback, metadata: GRPCTests.paymentBearer) }
                        == .notFound)
                let check = Billing_V1_CheckQuotaRequest.with {
                    $0.userID = "h2"
                    $0.serviceName = "payment"
                    $0.count = 1
                }
                #expect(
                    await Self.code { _ = try await gateway.checkQuota(check, metadata: GRPCTests.paymentBearer) }
                        == .unauthenticated)
                #expect(await Self.code { _ = try await gateway.checkQuota(check, metadata: GRPCTests.bearer) } == nil)
            }
        }
    }

    @Test("gRPC reads the configured user header, as HTTP does; x-user-id is just another header then")
    func grpcUserHeader() async throws {
        let environment = ["BILLING_AUTH_USER_HEADER": "X-Gateway-User", "BILLING_AUTH_ALLOW_USER_ID_PARAM": "false"]
        try await TestApp.with(environment: environment) { app in
            let started = try await app.send(
                .post, "/api/v1/billing/recharge", json: #"{"amount_fen": 900, "payment_method": "alipay"}"#,
                headers: ["X-Gateway-User": "victim"])
            #expect(started.status == 502)
            let order = try await app.parts.pool.withConnection { connection in
                try connection.query("SELECT id FROM recharge_order WHERE user_id = 'victim'")[0].string(0)
            }
            _ = try await app.signedCallback(#"{"order_id": "\#(order)", "amount_fen": 900, "status": "SUCCESS"}"#)
            try await Self.withClients(app) { _, console in
                // The gateway strips and sets X-Gateway-User; a client's own x-user-id proves nothing.
                #expect(
                    await Self.code { _ = try await console.getAccount(.init(), metadata: ["x-user-id": "victim"]) }
                        == .unauthenticated)
                #expect(
                    await Self.code {
                        _ = try await console.recharge(
                            .with {
                                $0.amountFen = 100
                                $0.paymentMethod = "alipay"
                            }, metadata: ["x-user-id": "victim"])
                    } == .unauthenticated)
                let mine = try await console.getAccount(.init(), metadata: ["x-gateway-user": "h3"])
                #expect(mine.userID == "h3" && mine.balanceFen == 0)
                let victims = try await console.getAccount(.init(), metadata: ["x-gateway-user": "victim"])
                #expect(victims.balanceFen == 900)
            }
            let http = try await app.send(.get, "/api/v1/billing/account", headers: ["X-User-Id": "victim"])
            #expect(http.status == 401)
            let byHeader = try await app.send(.get, "/api/v1/billing/account", headers: ["X-Gateway-User": "h3"])
            #expect(byHeader.data?["userId"] == .string("h3"))
        }
    }

    static func withClients(
        _ app: TestApp,
        _ body: (Billing_V1_BillingInternalService.Client<HTTP2ClientTransport.Posix>,
            Billing_V1_BillingService.Client<HTTP2ClientTransport.Posix>) async throws -> Void
    ) async throws {
        try await GRPCTests().withClients(app, body)
    }

    static func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        await GRPCTests().code(body)
    }
}
