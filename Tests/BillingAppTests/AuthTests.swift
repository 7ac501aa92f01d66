@testable import BillingApp
import BillingCore
import CallbackSigning
import Foundation
import Testing

@Suite("Authentication: internal tokens, callback signatures, the gateway's user header", .timeLimit(.minutes(1)))
struct AuthTests {
    let body = #"{"user_id": "u1", "service_name": "passport", "count": 1}"#

    @Test("the internal API needs a configured bearer token", arguments: [nil, "Bearer wrong", "Basic abc", "Bearer "])
    func bearer(header: String?) async throws {
        try await TestApp.with { app in
            let headers = header.map { ["Authorization": $0] } ?? [:]
            for path in ["deduct", "check"] {
                let reply = try await app.send(.post, "/internal/v1/billing/\(path)", json: body, headers: headers)
                #expect(reply.status == 401)
                #expect(reply.errorCode == "UNAUTHENTICATED")
            }
        }
    }

    @Test("a callback is accepted with a valid signature, refused with a wrong, stale or missing one")
    func callbackSignature() async throws {
        try await TestApp.with { app in
            let id = try await app.failedOrder("u1", amountFen: 300)
            let callback = #"{"order_id": "\#(id)", "amount_fen": 300, "status": "SUCCESS"}"#

            let forged = CallbackSignature(secret: "not-the-secret-at-all", windowSeconds: 300)
                .header(timestamp: Int64(Date().timeIntervalSince1970), body: Array(callback.utf8))
            let refused = try await app.send(
                .post, "/internal/v1/billing/callback", json: callback, headers: ["X-Billing-Signature": forged])
            #expect(refused.status == 401)
            let stale = try await app.signedCallback(callback, at: Date().addingTimeInterval(-301))
            #expect(stale.status == 401)
            let tampered = try await app.send(
                .post, "/internal/v1/billing/callback",
                json: callback.replacingOccurrences(of: "300", with: "30000"),
                headers: ["X-Billing-Signature": app.signer.header(timestamp: Int64(Date().timeIntervalSince1970), body: Array(callback.utf8))])
            #expect(tampered.status == 401)
            let unsigned = try await app.send(.post, "/internal/v1/billing/callback", json: callback)
            #expect(unsigned.status == 401)
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=u1").data?["balanceFen"]?.int64 == 0)

            let accepted = try await app.signedCallback(callback)
            #expect(accepted.status == 200)
            #expect(accepted.data?["creditedFen"]?.int64 == 300)
            let again = try await app.signedCallback(callback)
            #expect(again.data?["creditedFen"]?.int64 == 0)
            let mismatch = try await app.signedCallback(#"{"order_id": "\#(id)", "amount_fen": 299, "status": "SUCCESS"}"#)
            #expect(mismatch.status == 400 && mismatch.errorCode == "AMOUNT_MISMATCH")
            #expect(try await app.send(.get, "/api/v1/billing/account?user_id=u1").data?["balanceFen"]?.int64 == 300)
        }
    }

    @Test("production mode: the user comes from the gateway's header; a different user_id is 403")
    func gatewayHeader() async throws {
        try await TestApp.with(environment: ["BILLING_AUTH_ALLOW_USER_ID_PARAM": "false"]) { app in
            let missing = try await app.send(.get, "/api/v1/billing/account?user_id=u1")
            #expect(missing.status == 401 && missing.errorCode == "UNAUTHENTICATED")
            let byHeader = try await app.send(.get, "/api/v1/billing/account", headers: ["X-User-Id": "u1"])
            #expect(byHeader.status == 200 && byHeader.data?["userId"] == .string("u1"))
            let same = try await app.send(.get, "/api/v1/billing/account?user_id=u1", headers: ["X-User-Id": "u1"])
            #expect(same.status == 200)
            let other = try await app.send(.get, "/api/v1/billing/account?user_id=u2", headers: ["X-User-Id": "u1"])
            #expect(other.status == 403 && other.errorCode == "FORBIDDEN")
        }
    }

    @Test("development mode: user_id is taken from the request, but may not contradict the header")
    func developmentMode() async throws {
        try await TestApp.with { app in
            #expect(try await app.send(.get, "/api/v1/billing/account?userId=u7").data?["userId"] == .string("u7"))
            let other = try await app.send(.get, "/api/v1/billing/account?user_id=u2", headers: ["X-User-Id": "u1"])
            #expect(other.status == 403)
        }
    }

    @Test("secrets compare in constant time and still compare right")
    func constantTime() {
        #expect(ConstantTime.equals("abc", "abc"))
        #expect(!ConstantTime.equals("abc", "abd"))
        #expect(!ConstantTime.equals("abc", "abcd"))
        #expect(!ConstantTime.equals("", "a"))
        #expect(ConstantTime.matchesAny("t2", ["t1", "t2"]))
        #expect(!ConstantTime.matchesAny("t3", ["t1", "t2"]))
    }
}
