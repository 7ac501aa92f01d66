@testable import BillingApp
import BillingCore
import BillingProto
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

@Suite("gRPC: billing.v1 over HTTP/2 with a real grpc-swift client", .timeLimit(.minutes(2)))
struct GRPCTests {
    static let bearer: Metadata = ["authorization": "Bearer \(TestApp.internalToken)"]
    static let paymentBearer: Metadata = ["authorization": "Bearer \(TestApp.paymentToken)"]

    /// Runs `body` with clients of both services connected to the test app's gRPC server.
    func withClients(
        _ app: TestApp,
        _ body: (Billing_V1_BillingInternalService.Client<HTTP2ClientTransport.Posix>,
            Billing_V1_BillingService.Client<HTTP2ClientTransport.Posix>) async throws -> Void
    ) async throws {
        let server = try #require(app.parts.grpcServer)
        let address = try #require(try await server.listeningAddress?.ipv4)
        try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .ipv4(address: address.host, port: address.port), transportSecurity: .plaintext)
        ) { client in
            try await body(
                Billing_V1_BillingInternalService.Client(wrapping: client), Billing_V1_BillingService.Client(wrapping: client))
        }
    }

    func code(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    @Test("every RPC's success path, and the error codes of api.md")
    func rpcs() async throws {
        try await TestApp.with { app in
            try await app.fund("g1", yuan: "1.00")
            try await withClients(app) { gateway, console in
                let deducted = try await gateway.deductQuota(
                    .with {
                        $0.userID = "g1"
                        $0.serviceName = "payment"
                        $0.count = 1_002
                        $0.requestID = "grpc-1"
                    }, metadata: Self.bearer)
                #expect(deducted.mode == "mixed" && deducted.amountFen == 20 && deducted.balanceFen == 80)
                let replay = try await gateway.deductQuota(
                    .with {
                        $0.userID = "g1"
                        $0.serviceName = "payment"
                        $0.count = 1_002
                        $0.requestID = "grpc-1"
                    }, metadata: Self.bearer)
                #expect(replay.replayed && replay.recordIds == deducted.recordIds)
                let check = try await gateway.checkQuota(
                    .with {
                        $0.userID = "g1"
                        $0.serviceName = "payment"
                        $0.count = 9
                    }, metadata: Self.bearer)
                #expect(!check.allowed && check.mode == "denied" && check.costFen == 90)

                let account = try await console.getAccount(.with { $0.userID = "g1" })
                #expect(account.balanceFen == 80 && account.balance == "0.80" && account.quotas.count == 3)
                let records = try await console.listRecords(.with { $0.userID = "g1" })
                #expect(records.total == 2)
                let today = try await console.getStatsToday(.with { $0.userID = "g1" })
                #expect(today.totalCount == 1_002 && today.totalCostFen == 20)
                let month = try await console.getStatsMonth(.with { $0.userID = "g1"; $0.serviceName = "payment" })
                #expect(month.paidCount == 2)
                let summary = try await console.getStatsSummary(.with { $0.userID = "g1" })
                #expect(summary.totalCostFen == 20 && summary.services.count == 3)

                #expect(
                    await code {
                        _ = try await gateway.deductQuota(
                            .with {
                                $0.userID = "g1"
                                $0.serviceName = "payment"
                                $0.count = 9
                            }, metadata: Self.bearer)
                    } == .failedPrecondition)
                #expect(
                    await code {
                        _ = try await gateway.deductQuota(
                            .with {
                                $0.userID = "g1"
                                $0.serviceName = "payment"
                                $0.count = 5
                                $0.requestID = "grpc-1"
                            }, metadata: Self.bearer)
                    } == .alreadyExists)
                #expect(
                    await code {
                        _ = try await gateway.checkQuota(.with { $0.userID = "g1"; $0.serviceName = "weather"; $0.count = 1 }, metadata: Self.bearer)
                    } == .invalidArgument)
                #expect(
                    await code {
                        _ = try await gateway.checkQuota(.with { $0.userID = "g1"; $0.serviceName = "payment"; $0.count = 0 }, metadata: Self.bearer)
                    } == .invalidArgument)
                #expect(
                    await code {
                        _ = try await gateway.checkQuota(.with { $0.userID = "g1"; $0.serviceName = "payment"; $0.count = 1 })
                    } == .unauthenticated)
                #expect(
                    await code {
                        _ = try await gateway.checkQuota(
                            .with { $0.userID = "g1"; $0.serviceName = "payment"; $0.count = 1 },
                            metadata: ["authorization": "Bearer nope"])
                    } == .unauthenticated)
                #expect(
                    await code {
                        _ = try await console.getAccount(.with { $0.userID = "g2" }, metadata: ["x-user-id": "g1"])
                    } == .permissionDenied)
                #expect(
                    await code {
                        _ = try await gateway.rechargeCallback(
                            .with { $0.orderID = "missing"; $0.amountFen = 1; $0.status = "SUCCESS" }, metadata: Self.paymentBearer)
                    } == .notFound)
                #expect(
                    await code {
                        _ = try await console.recharge(.with { $0.userID = "g1"; $0.amountFen = 100; $0.paymentMethod = "alipay" })
                    } == .unavailable)
            }
            // Refusals are counted per RPC with their code, the auth interceptor's included.
            let metrics = try await app.send(.get, "/metrics").text
            #expect(metrics.contains(#"grpc_requests_total{method="billing.v1.BillingInternalService/CheckQuota",code="unauthenticated"} 2"#))
            // One over HTTP (funding), one over gRPC: counted alike.
            #expect(metrics.contains(#"billing_recharges_total{outcome="payment_service_unavailable"} 2"#))
            #expect(metrics.contains(#"billing_deductions_total{mode="replay"} 1"#))
        }
    }

    @Test("1,000 concurrent DeductQuota calls over a few HTTP/2 connections leave exact balances")
    func concurrentDeductions() async throws {
        try await TestApp.with { app in
            let users = (0..<10).map { "gc\($0)" }
            for user in users { try await app.fund(user, yuan: "5.00") }
            try await withThrowingTaskGroup(of: Void.self) { connections in
                for connection in 0..<4 {
                    connections.addTask {
                        try await withClients(app) { gateway, _ in
                            try await withThrowingTaskGroup(of: Void.self) { calls in
                                for call in 0..<250 {
                                    calls.addTask {
                                        _ = try await gateway.deductQuota(
                                            .with {
                                                $0.userID = users[(connection * 250 + call) % users.count]
                                                $0.serviceName = "asset"
                                                $0.count = 11
                                                $0.requestID = "c\(connection)-\(call)"
                                            }, metadata: Self.bearer)
                                    }
                                }
                                try await calls.waitForAll()
                            }
                        }
                    }
                }
                try await connections.waitForAll()
            }
            // 100 calls × 11 per user = 1,100 calls: 1,000 free, 100 paid × 5 fen = 500 fen.
            for user in users {
                let account = try await app.send(.get, "/api/v1/billing/account?user_id=\(user)")
                #expect(account.data?["balanceFen"]?.int64 == 0)
            }
        }
    }

    @Test("a call whose deadline passes is charged at most once, and its retry with the same request_id is safe")
    func deadline() async throws {
        try await TestApp.with { app in
            try await app.fund("gd", yuan: "1.00")
            _ = try await app.deduct("gd", "asset", count: 1_000)
            try await withClients(app) { gateway, _ in
                var hurried = CallOptions.defaults
                hurried.timeout = .microseconds(1)
                let request = Billing_V1_DeductQuotaRequest.with {
                    $0.userID = "gd"
                    $0.serviceName = "asset"
                    $0.count = 2
                    $0.requestID = "late-1"
                }
                let first = await code { _ = try await gateway.deductQuota(request, metadata: Self.bearer, options: hurried) }
                #expect(first == .deadlineExceeded || first == nil)
                // Whatever happened to the first attempt, the retry answers and charges once.
                let retry = try await gateway.deductQuota(request, metadata: Self.bearer)
                #expect(retry.amountFen == 10)
                let again = try await gateway.deductQuota(request, metadata: Self.bearer)
                #expect(again.replayed)
            }
            let account = try await app.send(.get, "/api/v1/billing/account?user_id=gd")
            #expect(account.data?["balanceFen"]?.int64 == 90)
        }
    }

    @Test("the committed generated code matches its .proto")
    func generatedCodeIsCurrent() throws {
        for (proto, generated) in [
            ("proto/billing/v1/billing.proto", ["Sources/BillingProto/billing/v1/billing.pb.swift", "Sources/BillingProto/billing/v1/billing.grpc.swift"]),
            ("proto/payment/v1/payment.proto", ["Sources/BillingProto/payment/v1/payment.pb.swift", "Sources/BillingProto/payment/v1/payment.grpc.swift"]),
        ] {
            let source = try Data(contentsOf: TestApp.root.appendingPathComponent(proto))
            let digest = SHA256.hash(data: source).map { String(format: "%02x", $0) }.joined()
            for file in generated {
                let text = try String(contentsOf: TestApp.root.appendingPathComponent(file), encoding: .utf8)
                #expect(text.hasPrefix("// proto-sha256: \(digest)\n"), "\(file) is older than \(proto): run scripts/gen-proto.sh")
            }
        }
    }
}
