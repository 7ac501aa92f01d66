@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// Refunds over the gateway and admin routes, adjustments, the user's ledger and the audit
/// log: every refusal with its status and code and nothing changed, every admin call audited
/// (ledger-features.md §2).
@Suite("Refunds, adjustments and the audit log over HTTP", .timeLimit(.minutes(2)))
struct AdminRouteTests {
    static let adminToken = "test-admin-token-0123456789"
    static let admin = ["Authorization": "Bearer \(adminToken)", "X-Operator": "ops carol"]

    func balance(_ app: TestApp, _ user: String) async throws -> JSONValue? {
        try await app.send(.get, "/api/v1/billing/account?user_id=\(user)").data?["balanceFen"]
    }

    func auditCount(_ app: TestApp) async throws -> Int64 {
        try await app.parts.pool.withConnection { connection in
            try connection.query("SELECT count(*) FROM audit_log")[0].int64(0)
        }
    }

    @Test("refunds: paid first then free, per-bucket limits, every refusal changes nothing")
    func refunds() async throws {
        try await TestApp.with(environment: ["BILLING_AUTH_ADMIN_TOKENS": Self.adminToken]) { app in
            try await app.fund("rf", yuan: "1.00")
            // payment: 1,000 free, then 10 fen: 1,003 calls = 1,000 free + 3 paid = 30 fen.
            _ = try await app.deduct("rf", "payment", count: 1_003, requestId: "d1")
            _ = try await app.deduct("other", "payment", count: 1, requestId: "d9")
            for (body, status, code) in [
                (#"{"refund_id": "x", "user_id": "rf", "request_id": "nope", "count": 1, "reason": "r"}"#, 404, "DEDUCTION_NOT_FOUND"),
                (#"{"refund_id": "x", "user_id": "rf", "request_id": "d9", "count": 1, "reason": "r"}"#, 404, "DEDUCTION_NOT_FOUND"),
                (#"{"refund_id": "x", "user_id": "rf", "hold_id": "h0", "count": 1, "reason": "r"}"#, 404, "HOLD_NOT_FOUND"),
                (#"{"refund_id": "x", "user_id": "rf", "request_id": "d1", "count": 1004, "reason": "r"}"#, 409, "REFUND_EXCEEDS_CHARGE"),
                (#"{"refund_id": "x", "user_id": "rf", "request_id": "d1", "hold_id": "h", "count": 1, "reason": "r"}"#, 400, "INVALID_ARGUMENT"),
                (#"{"refund_id": "x", "user_id": "rf", "request_id": "d1", "count": 0, "reason": "r"}"#, 400, "INVALID_ARGUMENT"),
                (#"{"refund_id": "x", "user_id": "rf", "request_id": "d1", "count": 1}"#, 400, "INVALID_ARGUMENT"),
            ] {
                let reply = try await app.internal("refunds", body)
                #expect(reply.status == status && reply.errorCode == code, "\(body) → \(reply.text)")
            }
            #expect(try await balance(app, "rf") == .int(70))
            let paid = try await app.internal(
                "refunds", #"{"refund_id": "f1", "user_id": "rf", "request_id": "d1", "count": 4, "reason": "outage"}"#)
            #expect(paid.status == 200 && paid.data?["paidRefunded"] == .int(3) && paid.data?["freeRefunded"] == .int(1))
            #expect(paid.data?["refundedFen"] == .int(30) && paid.data?["freeReturned"] == .int(1))
            let replay = try await app.internal(
                "refunds", #"{"refund_id": "f1", "user_id": "rf", "request_id": "d1", "count": 4, "reason": "outage"}"#)
            #expect(replay.data?["replayed"] == .bool(true))
            let conflict = try await app.internal(
                "refunds", #"{"refund_id": "f1", "user_id": "rf", "request_id": "d1", "count": 5, "reason": "outage"}"#)
            #expect(conflict.status == 409 && conflict.errorCode == "IDEMPOTENCY_CONFLICT")
            #expect(try await balance(app, "rf") == .int(100))
            let stats = try await app.send(.get, "/api/v1/billing/stats/summary?user_id=rf")
            #expect(stats.data?["totalCostFen"] == .int(0), "\(stats.text)")
        }
    }

    @Test("the admin group: its own token, the operator named, adjustments, the ledger, and every call audited")
    func adminAndAudit() async throws {
        try await TestApp.with(environment: ["BILLING_AUTH_ADMIN_TOKENS": Self.adminToken]) { app in
            try await app.fund("ad", yuan: "0.50")
            let before = try await auditCount(app)
            let credit = #"{"adjustment_id": "a1", "user_id": "ad", "amount_fen": 25, "reason": "goodwill"}"#
            // Refused: the gateway's token, no operator, a bad amount, a debit beyond the balance.
            let gateway = try await app.send(
                .post, "/admin/v1/billing/adjustments", json: credit,
                headers: ["Authorization": "Bearer \(TestApp.internalToken)", "X-Operator": "x"])
            #expect(gateway.status == 401)
            let anonymous = try await app.send(
                .post, "/admin/v1/billing/adjustments", json: credit, headers: ["Authorization": "Bearer \(Self.adminToken)"])
            #expect(anonymous.status == 400 && anonymous.errorCode == "OPERATOR_REQUIRED")
            for (body, status, code) in [
                (#"{"adjustment_id": "a2", "user_id": "ad", "amount_fen": 0, "reason": "x"}"#, 400, "INVALID_ARGUMENT"),
                (#"{"adjustment_id": "a2", "user_id": "ad", "amount_fen": 10000000000001, "reason": "x"}"#, 400, "AMOUNT_OUT_OF_RANGE"),
                (#"{"adjustment_id": "a2", "user_id": "ad", "amount_fen": -51, "reason": "x"}"#, 402, "INSUFFICIENT_BALANCE"),
                (#"{"adjustment_id": "a2", "user_id": "ad", "amount_fen": 5}"#, 400, "INVALID_ARGUMENT"),
            ] {
                let reply = try await app.send(.post, "/admin/v1/billing/adjustments", json: body, headers: Self.admin)
                #expect(reply.status == status && reply.errorCode == code, "\(body) → \(reply.text)")
            }
            #expect(try await balance(app, "ad") == .int(50))
            let applied = try await app.send(.post, "/admin/v1/billing/adjustments", json: credit, headers: Self.admin)
            #expect(applied.status == 200 && applied.data?["balanceFen"] == .int(75))
            let debit = try await app.send(
                .post, "/admin/v1/billing/adjustments",
                json: #"{"adjustment_id": "a3", "user_id": "ad", "amount_fen": -15, "reason": "correction"}"#,
                headers: Self.admin)
            #expect(debit.data?["balanceFen"] == .int(60))
            let ledger = try await app.send(.get, "/admin/v1/billing/users/ad/ledger?page_size=10", headers: Self.admin)
            guard case .array(let records)? = ledger.data?["records"] else {
                Issue.record("no ledger: \(ledger.text)")
                return
            }
            #expect(records.map { $0["typeName"] } == [.string("adjustment"), .string("adjustment")])
            // Nine calls so far, each in the log with how it ended; the log reads newest first.
            #expect(try await auditCount(app) - before == 9)
            let audit = try await app.send(.get, "/admin/v1/billing/audit?page_size=20", headers: Self.admin)
            guard case .array(let entries)? = audit.data?["entries"] else {
                Issue.record("no audit: \(audit.text)")
                return
            }
            #expect(entries.first?["action"] == .string("GET /admin/v1/billing/users/ad/ledger"))
            let statuses = entries.compactMap { entry -> String? in
                guard case .number(let status)? = entry["status"] else { return nil }
                return status
            }
            #expect(statuses.contains("401") && statuses.contains("402") && statuses.contains("400"))
            #expect(entries.contains { $0["operator"] == .null && $0["code"] == .string("OPERATOR_REQUIRED") })
            #expect(entries.contains { $0["target"] == .string("user ad") && $0["status"] == .number("200") })
            // Append-only.
            await #expect(throws: (any Error).self) {
                try await app.parts.pool.withConnection { connection in
                    _ = try connection.query("DELETE FROM audit_log")
                }
            }
        }
    }

    @Test("over gRPC: Refund (gateway), Adjust, Refund, GetUserLedger and ListAudit (admin), each admin call audited")
    func grpc() async throws {
        try await TestApp.with(environment: ["BILLING_AUTH_ADMIN_TOKENS": Self.adminToken]) { app in
            try await app.fund("gr", yuan: "1.00")
            _ = try await app.deduct("gr", "payment", count: 1_002, requestId: "d1")
            let before = try await auditCount(app)
            try await app.withGRPC { client in
                let gateway = Billing_V1_BillingInternalService.Client(wrapping: client)
                let admin = Billing_V1_BillingAdminService.Client(wrapping: client)
                let bearer: Metadata = ["authorization": "Bearer \(TestApp.internalToken)"]
                let operatorMetadata: Metadata = ["authorization": "Bearer \(Self.adminToken)", "x-operator": "ops dave"]
                let refunded = try await gateway.refund(
                    .with {
                        $0.refundID = "g1"
                        $0.userID = "gr"
                        $0.requestID = "d1"
                        $0.count = 1
                        $0.reason = "outage"
                    }, metadata: bearer)
                #expect(refunded.paidRefunded == 1 && refunded.refundedFen == 10 && refunded.balanceFen == 90)
                do {
                    _ = try await gateway.refund(
                        .with {
                            $0.refundID = "g2"
                            $0.userID = "gr"
                            $0.requestID = "d1"
                            $0.count = 1_002
                            $0.reason = "too many"
                        }, metadata: bearer)
                    Issue.record("a refund beyond the charge was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .failedPrecondition && error.message.contains("REFUND_EXCEEDS_CHARGE"))
                }
                let adjusted = try await admin.adjust(
                    .with {
                        $0.adjustmentID = "ga"
                        $0.userID = "gr"
                        $0.amountFen = -40
                        $0.reason = "correction"
                    }, metadata: operatorMetadata)
                #expect(adjusted.balanceFen == 50)
                let adminRefund = try await admin.refund(
                    .with {
                        $0.refundID = "g3"
                        $0.userID = "gr"
                        $0.requestID = "d1"
                        $0.count = 1
                        $0.reason = "goodwill"
                    }, metadata: operatorMetadata)
                #expect(adminRefund.balanceFen == 60)
                await #expect(throws: RPCError.self) {
                    _ = try await admin.adjust(
                        .with {
                            $0.adjustmentID = "gb"
                            $0.userID = "gr"
                            $0.amountFen = 1
                            $0.reason = "x"
                        }, metadata: bearer)
                }
                let ledger = try await admin.getUserLedger(.with { $0.userID = "gr" }, metadata: operatorMetadata)
                #expect(ledger.records.map(\.typeName).prefix(3) == ["refund", "adjustment", "refund"])
                let audit = try await admin.listAudit(.with { $0.pageSize = 10 }, metadata: operatorMetadata)
                // A call is audited once it has ended: ListAudit sees the calls before it.
                #expect(audit.entries.first?.action == "RPC billing.v1.BillingAdminService/GetUserLedger")
                #expect(audit.entries.contains { $0.code == "UNAUTHENTICATED" && $0.operator.isEmpty })
            }
            // Adjust, Refund, the refused Adjust, GetUserLedger and ListAudit: five admin calls.
            #expect(try await auditCount(app) - before == 5)
            #expect(try await balance(app, "gr") == .int(60))
        }
    }
}
