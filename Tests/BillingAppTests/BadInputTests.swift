@testable import BillingApp
import BillingCore
import Foundation
import HTTPTypes
import Testing

/// One bad request and what it must get back: a 4xx with a stable code, never a 500.
struct BadRequest: Sendable, CustomTestStringConvertible {
    let method: HTTPRequest.Method
    let path: String
    let body: String?
    let contentType: String?
    let status: Int
    let code: String

    init(
        _ method: HTTPRequest.Method, _ path: String, _ body: String? = nil, contentType: String? = "application/json",
        _ status: Int, _ code: String
    ) {
        self.method = method
        self.path = path
        self.body = body
        self.contentType = body == nil ? nil : contentType
        self.status = status
        self.code = code
    }

    var testDescription: String { "\(method) \(path) \(body ?? "") → \(status) \(code)" }
}

let deduct = "/internal/v1/billing/deduct"
let check = "/internal/v1/billing/check"
let callback = "/internal/v1/billing/callback"
let recharge = "/api/v1/billing/recharge?user_id=u1"

let badRequests: [BadRequest] = [
    // Deduct: missing, empty, wrong-typed and out-of-range fields.
    .init(.post, deduct, "{}", 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"service_name": "passport", "count": 1}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "", "service_name": "passport", "count": 1}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u 1", "service_name": "passport", "count": 1}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "count": 1}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "weather", "count": 1}"#, 400, "UNKNOWN_SERVICE"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 0}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": -5}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 2147483648}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 99999999999999999999}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 1.5}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": "1"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": true}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": ["u1"], "service_name": "passport", "count": 1}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": 7, "count": 1}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 1, "request_id": ""}"#, 400, "INVALID_ARGUMENT"),
    .init(
        .post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 1, "request_id": "\#(String(repeating: "r", count: 200))"}"#,
        400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1", "service_name": "passport", "count": 1, "app_id": {}}"#, 400, "INVALID_ARGUMENT"),
    // Malformed bodies, wrong media types, body shape.
    .init(.post, deduct, #"{"user_id": "u1","#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, "not json", 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, "[1, 2, 3]", 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #""just a string""#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, #"{"user_id": "u1"} trailing"#, 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, String(repeating: "[", count: 5_000), 400, "INVALID_ARGUMENT"),
    .init(.post, deduct, "user_id=u1", contentType: "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    .init(.post, deduct, #"{"user_id": "u1"}"#, contentType: "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    .init(.post, deduct, "{\"pad\": \"" + String(repeating: "x", count: 70_000) + "\"}", 413, "PAYLOAD_TOO_LARGE"),
    // Check.
    .init(.post, check, #"{"user_id": "u1", "service_name": "passport", "count": 0}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, check, #"{"user_id": "u1", "service_name": "nope", "count": 1}"#, 400, "UNKNOWN_SERVICE"),
    .init(.post, check, #"{"user_id": "u1", "service_name": "passport"}"#, 400, "INVALID_ARGUMENT"),
    // Recharge amounts and fields.
    .init(.post, recharge, #"{"payment_method": "alipay"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": "0.001", "payment_method": "alipay"}"#, 400, "AMOUNT_TOO_PRECISE"),
    .init(.post, recharge, #"{"amount": 0.001, "payment_method": "alipay"}"#, 400, "AMOUNT_TOO_PRECISE"),
    .init(.post, recharge, #"{"amount": "-1", "payment_method": "alipay"}"#, 400, "AMOUNT_NOT_POSITIVE"),
    .init(.post, recharge, #"{"amount": 0, "payment_method": "alipay"}"#, 400, "AMOUNT_NOT_POSITIVE"),
    .init(.post, recharge, #"{"amount": 1e3, "payment_method": "alipay"}"#, 400, "AMOUNT_MALFORMED"),
    .init(.post, recharge, #"{"amount": "abc", "payment_method": "alipay"}"#, 400, "AMOUNT_MALFORMED"),
    .init(.post, recharge, #"{"amount": "", "payment_method": "alipay"}"#, 400, "AMOUNT_EMPTY"),
    .init(.post, recharge, #"{"amount": "1000000.01", "payment_method": "alipay"}"#, 400, "AMOUNT_OUT_OF_RANGE"),
    .init(.post, recharge, #"{"amount": 99999999999999999999, "payment_method": "alipay"}"#, 400, "AMOUNT_OUT_OF_RANGE"),
    .init(.post, recharge, #"{"amount_fen": 1.5, "payment_method": "alipay"}"#, 400, "AMOUNT_MALFORMED"),
    .init(.post, recharge, #"{"amount_fen": "100", "payment_method": "alipay"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": "1.00", "amount_fen": 101, "payment_method": "alipay"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": true, "payment_method": "alipay"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": "10"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": "10", "payment_method": "paypal"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": "10", "payment_method": "alipay", "currency": "USD"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, recharge, #"{"amount": "10", "payment_method": "alipay", "return_url": "ftp://x"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, "/api/v1/billing/recharge", #"{"amount": "10", "payment_method": "alipay"}"#, 400, "INVALID_ARGUMENT"),
    // Queries.
    .init(.get, "/api/v1/billing/account", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&page_size=101", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&page_size=0", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&page=0", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&page=abc", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&cursor=xyz", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&type=gift", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&service_name=weather", nil, 400, "UNKNOWN_SERVICE"),
    .init(.get, "/api/v1/billing/records?user_id=u1&from=yesterday", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&from=1969-12-31T23:59:59Z", nil, 400, "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/records?user_id=u1&to=10000-01-01T00:00:00Z", nil, 400, "INVALID_ARGUMENT"),
    .init(
        .get, "/api/v1/billing/records?user_id=u1&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", nil, 400,
        "INVALID_ARGUMENT"),
    .init(.get, "/api/v1/billing/stats/today?user_id=u1&service_name=weather", nil, 400, "UNKNOWN_SERVICE"),
    .init(.get, "/api/v1/billing/recharge/orders/recharge_u1_1?user_id=u1", nil, 404, "ORDER_NOT_FOUND"),
    // Routes and methods.
    .init(.get, "/api/v1/billing/nothing", nil, 404, "NOT_FOUND"),
    .init(.get, "/", nil, 404, "NOT_FOUND"),
    .init(.delete, "/api/v1/billing/account?user_id=u1", nil, 405, "METHOD_NOT_ALLOWED"),
    // Callback (authenticated by bearer here, so the body rules are what is tested).
    .init(.post, callback, #"{"amount_fen": 100, "status": "SUCCESS"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, callback, #"{"order_id": "recharge_x_1", "status": "SUCCESS"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, callback, #"{"order_id": "recharge_x_1", "amount_fen": 100, "status": "MAYBE"}"#, 400, "INVALID_ARGUMENT"),
    .init(.post, callback, #"{"order_id": "recharge_x_1", "amount_fen": 100, "status": "SUCCESS"}"#, 404, "ORDER_NOT_FOUND"),
]

@Suite("Bad input: a clear 4xx with a stable code, nothing changed, never a 500", .timeLimit(.minutes(1)))
struct BadInputTests {
    @Test("the bad-request table has at least 40 rows")
    func tableSize() {
        #expect(badRequests.count >= 40)
    }

    @Test("every bad request gets its status and code, and leaves the ledger empty")
    func table() async throws {
        try await TestApp.with { app in
            for bad in badRequests {
                let token = bad.path.hasSuffix("/callback") ? TestApp.paymentToken : TestApp.internalToken
                var headers = ["Authorization": "Bearer \(token)"]
                if let type = bad.contentType { headers["Content-Type"] = type }
                let reply = try await app.send(bad.method, bad.path, json: bad.body, headers: headers)
                #expect(reply.status == bad.status, "\(bad.testDescription): got \(reply.status) \(reply.text.prefix(200))")
                #expect(reply.errorCode == bad.code, "\(bad.testDescription): got \(reply.text.prefix(200))")
                #expect(reply.json?["success"] == .bool(false), "\(bad.testDescription)")
            }
            let rows = try await app.parts.pool.withConnection { connection in
                try connection.query(
                    "SELECT (SELECT count(*) FROM billing_record) + (SELECT coalesce(sum(balance_fen), 0) FROM user_balance)"
                )[0].int64(0)
            }
            #expect(rows == 0)
        }
    }
}
