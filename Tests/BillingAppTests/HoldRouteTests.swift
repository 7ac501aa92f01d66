@testable import BillingApp
import BillingCore
import BillingProto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Testing

/// Holds over HTTP and gRPC: every path with its status and code, and nothing changed by
/// a refusal (ledger-features.md §1).
@Suite("Holds over HTTP and gRPC", .timeLimit(.minutes(2)))
struct HoldRouteTests {
    func hold(_ app: TestApp, _ body: String) async throws -> TestApp.Reply {
        try await app.internal("holds", body)
    }

    func account(_ app: TestApp, _ user: String) async throws -> (balance: JSONValue?, available: JSONValue?) {
        let reply = try await app.send(.get, "/api/v1/billing/account?user_id=\(user)")
        return (reply.data?["balanceFen"], reply.data?["availableFen"])
    }

    @Test("authorize, settle, void over HTTP; every error path with its status and code, nothing changed")
    func http() async throws {
        try await TestApp.with { app in
            try await app.fund("hh", yuan: "1.00")
            // passport: 1 fen, 10,000 free a month; payment: 10 fen, 1,000 free.
            let held = try await hold(app, #"{"user_id": "hh", "service_name": "payment", "count": 1005, "hold_id": "s1"}"#)
            #expect(held.status == 200 && held.data?["status"] == .string("pending"))
            #expect(held.data?["freeHeld"] == .int(1_000) && held.data?["paidHeld"] == .int(5))
            #expect(held.data?["heldFen"] == .int(50) && held.data?["availableFen"] == .int(50))
            #expect(try await account(app, "hh") == (.int(100), .int(50)))
            let check = try await app.internal("check", #"{"user_id": "hh", "service_name": "payment", "count": 6}"#)
            #expect(check.data?["allowed"] == .bool(false) && check.data?["availableFen"] == .int(50))
            let listed = try await app.send(.get, "/api/v1/billing/holds?user_id=hh")
            guard case .array(let holds)? = listed.data?["holds"] else {
                Issue.record("no holds: \(listed.text)")
                return
            }
            #expect(holds.count == 1 && holds[0]["holdId"] == .string("s1"))

            // Every refusal, and nothing changes.
            for (body, status, code) in [
                (#"{"user_id": "hh", "service_name": "payment", "count": 1, "hold_id": "s2", "ttl_seconds": 0}"#, 400, "INVALID_ARGUMENT"),
                (#"{"user_id": "hh", "service_name": "payment", "count": 1, "hold_id": "s2", "ttl_seconds": 3601}"#, 400, "INVALID_ARGUMENT"),
                (#"{"user_id": "hh", "service_name": "payment", "count": 1, "hold_id": "s2", "ttl_seconds": 99999999999999999999}"#, 400, "INVALID_ARGUMENT"),
                (#"{"user_id": "hh", "service_name": "weather", "count": 1, "hold_id": "s2"}"#, 400, "UNKNOWN_SERVICE"),
                (#"{"user_id": "hh", "service_name": "payment", "count": 6, "hold_id": "s2"}"#, 402, "INSUFFICIENT_BALANCE"),
                (#"{"user_id": "hh", "service_name": "payment", "count": 1006, "hold_id": "s1"}"#, 409, "IDEMPOTENCY_CONFLICT"),
                (#"{"user_id": "hh", "service_name": "payment", "count": 1}"#, 400, "INVALID_ARGUMENT"),
            ] {
                let reply = try await hold(app, body)
                #expect(reply.status == status && reply.errorCode == code, "\(body) → \(reply.text)")
            }
            for (path, body, status, code) in [
                ("holds/nope/settle", #"{"user_id": "hh", "count": 1}"#, 404, "HOLD_NOT_FOUND"),
                ("holds/s1/settle", #"{"user_id": "other", "count": 1}"#, 404, "HOLD_NOT_FOUND"),
                ("holds/s1/settle", #"{"user_id": "hh", "count": -1}"#, 400, "INVALID_ARGUMENT"),
                ("holds/s1/settle", #"{"user_id": "hh"}"#, 400, "INVALID_ARGUMENT"),
                // 5 paid held; 11 more is an overrun of 6 × 10 fen with 50 available.
                ("holds/s1/settle", #"{"user_id": "hh", "count": 1016}"#, 402, "INSUFFICIENT_BALANCE"),
                ("holds/nope/void", #"{"user_id": "hh"}"#, 404, "HOLD_NOT_FOUND"),
            ] {
                let reply = try await app.internal(path, body)
                #expect(reply.status == status && reply.errorCode == code, "\(path) \(body) → \(reply.text)")
            }
            #expect(try await account(app, "hh") == (.int(100), .int(50)))

            // Settle below the estimate, replay it, then every late call.
            let settled = try await app.internal("holds/s1/settle", #"{"user_id": "hh", "count": 1003}"#)
            #expect(settled.status == 200 && settled.data?["status"] == .string("settled"))
            #expect(settled.data?["amountFen"] == .int(30) && settled.data?["holdId"] == .string("s1"))
            let replay = try await app.internal("holds/s1/settle", #"{"user_id": "hh", "count": 1003}"#)
            #expect(replay.data?["replayed"] == .bool(true) && replay.data?["amountFen"] == .int(30))
            let again = try await app.internal("holds/s1/settle", #"{"user_id": "hh", "count": 1004}"#)
            #expect(again.status == 409 && again.errorCode == "HOLD_ALREADY_SETTLED")
            let voidAfter = try await app.internal("holds/s1/void", #"{"user_id": "hh"}"#)
            #expect(voidAfter.status == 409 && voidAfter.errorCode == "HOLD_ALREADY_SETTLED")
            #expect(try await account(app, "hh") == (.int(70), .int(70)))
            let records = try await app.send(.get, "/api/v1/billing/records?user_id=hh")
            guard case .array(let list)? = records.data?["records"] else {
                Issue.record("no records: \(records.text)")
                return
            }
            #expect(list.count == 2 && list.allSatisfy { $0["holdId"] == .string("s1") })

            _ = try await hold(app, #"{"user_id": "hh", "service_name": "payment", "count": 3, "hold_id": "v1"}"#)
            let voided = try await app.internal("holds/v1/void", #"{"user_id": "hh"}"#)
            #expect(voided.status == 200 && voided.data?["status"] == .string("voided"))
            let voidedTwice = try await app.internal("holds/v1/void", #"{"user_id": "hh"}"#)
            #expect(voidedTwice.status == 200 && voidedTwice.data?["status"] == .string("voided"))
            let settleVoided = try await app.internal("holds/v1/settle", #"{"user_id": "hh", "count": 1}"#)
            #expect(settleVoided.status == 409 && settleVoided.errorCode == "HOLD_VOIDED")

            // An expired hold: settle is HOLD_EXPIRED, void answers 200 "expired".
            _ = try await hold(app, #"{"user_id": "hh", "service_name": "payment", "count": 2, "hold_id": "e1", "ttl_seconds": 1}"#)
            try await Task.sleep(for: .milliseconds(1_100))
            let late = try await app.internal("holds/e1/settle", #"{"user_id": "hh", "count": 1}"#)
            #expect(late.status == 409 && late.errorCode == "HOLD_EXPIRED")
            let expiredVoid = try await app.internal("holds/e1/void", #"{"user_id": "hh"}"#)
            #expect(expiredVoid.status == 200 && expiredVoid.data?["status"] == .string("expired"))
            #expect(try await account(app, "hh") == (.int(70), .int(70)))
            // The gateway's token is required.
            let anonymous = try await app.send(.post, "/internal/v1/billing/holds", json: #"{"user_id": "hh"}"#)
            #expect(anonymous.status == 401)
        }
    }

    @Test("AuthorizeHold, SettleHold, VoidHold and ListHolds over gRPC, with the error codes")
    func grpc() async throws {
        try await TestApp.with { app in
            try await app.fund("hg", yuan: "1.00")
            try await app.withGRPC { client in
                let gateway = Billing_V1_BillingInternalService.Client(wrapping: client)
                let console = Billing_V1_BillingService.Client(wrapping: client)
                let bearer: Metadata = ["authorization": "Bearer \(TestApp.internalToken)"]
                let held = try await gateway.authorizeHold(
                    .with {
                        $0.userID = "hg"
                        $0.serviceName = "payment"
                        $0.count = 1_002
                        $0.holdID = "g1"
                    }, metadata: bearer)
                #expect(held.hold.status == "pending" && held.hold.heldFen == 20 && held.availableFen == 80)
                let listed = try await console.listHolds(.with { $0.userID = "hg" })
                #expect(listed.holds.map(\.holdID) == ["g1"])
                let account = try await console.getAccount(.with { $0.userID = "hg" })
                #expect(account.balanceFen == 100 && account.heldFen == 20 && account.availableFen == 80)
                #expect(account.quotas.first { $0.serviceName == "payment" }?.heldQuota == 1_000)
                let settled = try await gateway.settleHold(
                    .with {
                        $0.userID = "hg"
                        $0.holdID = "g1"
                        $0.count = 1_001
                    }, metadata: bearer)
                #expect(settled.charge.amountFen == 10 && settled.hold.status == "settled" && settled.charge.availableFen == 90)
                for (call, expected) in [
                    ({ _ = try await gateway.settleHold(.with { $0.userID = "hg"; $0.holdID = "g1"; $0.count = 3 }, metadata: bearer) }, RPCError.Code.failedPrecondition),
                    ({ _ = try await gateway.voidHold(.with { $0.userID = "hg"; $0.holdID = "nope" }, metadata: bearer) }, .notFound),
                    ({ _ = try await gateway.authorizeHold(.with { $0.userID = "hg"; $0.serviceName = "payment"; $0.count = 50; $0.holdID = "g2" }, metadata: bearer) }, .failedPrecondition),
                    ({ _ = try await gateway.authorizeHold(.with { $0.userID = "hg"; $0.serviceName = "payment"; $0.count = 1; $0.holdID = "g3"; $0.ttlSeconds = 4000 }, metadata: bearer) }, .invalidArgument),
                    ({ _ = try await gateway.voidHold(.with { $0.userID = "hg"; $0.holdID = "g1" }) }, .unauthenticated),
                ] as [(() async throws -> Void, RPCError.Code)] {
                    do {
                        try await call()
                        Issue.record("expected \(expected)")
                    } catch let error as RPCError {
                        #expect(error.code == expected, "\(error)")
                    }
                }
                let voided = try await gateway.authorizeHold(
                    .with {
                        $0.userID = "hg"
                        $0.serviceName = "payment"
                        $0.count = 1
                        $0.holdID = "g4"
                    }, metadata: bearer)
                #expect(voided.hold.status == "pending")
                let released = try await gateway.voidHold(.with { $0.userID = "hg"; $0.holdID = "g4" }, metadata: bearer)
                #expect(released.hold.status == "voided")
            }
        }
    }
}
